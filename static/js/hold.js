// Layout above the desk's rows waits while the agent works the list (desk.js says when): a
// change that would push the rows down under the pointer is kept, the latest of each kind, and
// made once the list is free again.
let isHeld = () => false;
const waiting = new Map(); // kind -> the latest change of that kind

export function holdWhile(check) {
  isHeld = check;
}

export function whenFree(kind, change) {
  if (isHeld()) {
    waiting.delete(kind);
    waiting.set(kind, change);
    return;
  }
  waiting.delete(kind);
  change();
}

export function released() {
  if (isHeld()) return;
  const changes = [...waiting.values()];
  waiting.clear();
  for (const change of changes) change();
}
