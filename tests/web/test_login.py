"""Login, logout and the login requirement of every page."""

from __future__ import annotations

import pytest
from django.urls import reverse

PAGES = [
    ("asset-list", []),
    ("asset-create", []),
    ("asset-detail", ["ME-000101"]),
    ("asset-edit", ["ME-000101"]),
    ("asset-delete", ["ME-000101"]),
    ("place-tree", []),
    ("subnet-list", []),
    ("connection-list", []),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_it_redirects_anonymous_users_to_login(client, hospital, name, args) -> None:
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_it_shows_the_login_page_in_japanese(client, db) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "ログイン" in response.content.decode()


def test_it_logs_in_and_goes_to_the_asset_list(client, engineer, staff_password) -> None:
    response = client.post(reverse("login"), {"username": "engineer", "password": staff_password})
    assert response.status_code == 302
    assert response["Location"] == reverse("asset-list")


def test_it_rejects_a_wrong_password(client, engineer, english) -> None:
    response = client.post(reverse("login"), {"username": "engineer", "password": "nope"})
    assert response.status_code == 200
    assert "The user name or password is wrong" in response.content.decode()


def test_it_logs_out_with_post(engineer_client) -> None:
    response = engineer_client.post(reverse("logout"))
    assert response.status_code == 302
    assert engineer_client.get(reverse("asset-list")).status_code == 302
