from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """The production algorithm with few iterations: hashes it makes still verify in a real
    server process (the count is stored in the hash), at a thousandth of the cost."""

    iterations = 1000
