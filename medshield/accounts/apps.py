from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_after_migrate(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Give the role groups their permissions once the accounts app has migrated.

    post_migrate runs app by app, and the apps after this one have no permission rows yet at
    this point; create them first (both calls are idempotent) so the sync sees every app.
    """
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    from medshield.accounts.roles import sync_roles

    for config in apps.get_app_configs():
        if config.models_module is None:
            continue
        create_contenttypes(config, verbosity=0, using=using)
        create_permissions(config, verbosity=0, using=using)
    sync_roles()


class AccountsConfig(AppConfig):
    name = "medshield.accounts"
    label = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        from medshield.accounts import signals  # noqa: F401 - connects the login audit

        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="medshield-roles")
