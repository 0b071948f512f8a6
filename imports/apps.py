from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"

    def ready(self) -> None:
        # Registers the import task in every process: services queue it by name
        # (imports.services.IMPORT_RUN_TASK), and eager runs need it registered.
        from imports import tasks  # noqa: F401

        # leads/ cannot import imports/: the timeline asks whoever registered (leads/timeline.py).
        from imports.selectors import lead_arrival_import
        from leads.timeline import register_arrival_detail

        register_arrival_detail(lead_arrival_import)
