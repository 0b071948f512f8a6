from django.db import migrations

DEFAULT_DISPOSITIONS = [
    ("Positive Contact", "#16a34a", "🙂"),
    ("Negative Contact", "#dc2626", "🙁"),
    ("Employer Coverage", "#0891b2", "🏢"),
    ("Brokie", "#a16207", "💸"),
    ("Buy Or Die", "#7c3aed", "🔥"),
    ("Unhealthy/Referred", "#db2777", "🏥"),
    ("Foreign", "#0d9488", "🌎"),
    ("Quoted", "#2563eb", "📝"),
    ("SOLD", "#15803d", "💰"),
    ("Appointment", "#9333ea", "📅"),
    ("No Contact", "#64748b", "📵"),
    ("Invalid/Disconnected", "#475569", "🚫"),
    ("Hung Up", "#ea580c", "☎️"),
    ("Ghosted", "#6b7280", "👻"),
]


def create_defaults(apps, schema_editor):
    Disposition = apps.get_model("leads", "Disposition")
    for order, (name, color, emoji) in enumerate(DEFAULT_DISPOSITIONS, start=1):
        Disposition.objects.update_or_create(
            tenant=None, name=name, defaults={"color": color, "emoji": emoji, "order": order}
        )


def remove_defaults(apps, schema_editor):
    Disposition = apps.get_model("leads", "Disposition")
    names = [name for name, _, _ in DEFAULT_DISPOSITIONS]
    Disposition.objects.filter(tenant=None, name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
