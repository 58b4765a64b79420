"""Password (SOAP login) and JWT bearer modes, with `responses` standing in for login hosts.

simple-salesforce always logs in at ``https://{SF_DOMAIN}.salesforce.com``, so these modes
cannot reach the emulator; `responses` checks that our arguments drive the client's own
login flows and that login failures become fatal errors naming the settings to fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from territory.config.settings import load_settings
from territory.connector.errors import CrmError, FatalCrmError
from territory.connector.records import ObjectKind
from territory.connector.salesforce import SalesforceConnector
from tests.salesforce_support import FAST

INSTANCE = "https://acme.my.salesforce.com"
EMPTY_PAGE = {"totalSize": 0, "done": True, "records": []}
LOGIN_OK = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body>
 <loginResponse><result><serverUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D</serverUrl>
 <sessionId>00Dsession</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"""
LOGIN_FAILED = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com">
 <soapenv:Body><soapenv:Fault><faultcode>INVALID_LOGIN</faultcode><detail><sf:LoginFault>
 <sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security token;
 or user locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""


def _password_connector() -> SalesforceConnector:
    settings = load_settings(env_file=None, territory_crm="salesforce", sf_username="agent@acme.de",
                             sf_password="s3cr3t", sf_security_token="T0KEN", sf_domain="test")
    return SalesforceConnector.from_settings(settings, policy=FAST, sleep=lambda s: None)


@responses.activate
def test_password_mode_logs_in_with_soap_and_reads_from_the_returned_instance() -> None:
    login = responses.post("https://test.salesforce.com/services/Soap/u/59.0", body=LOGIN_OK)
    query = responses.get(f"{INSTANCE}/services/data/v59.0/queryAll/", json=EMPTY_PAGE)
    conn = _password_connector()
    list(conn.iter_changes(ObjectKind.OWNERS, None))
    assert login.call_count == 1 and "s3cr3tT0KEN" in str(login.calls[0].request.body)  # password + token
    assert query.call_count == 1 and conn.api_calls == 2


@responses.activate
def test_password_login_failure_is_fatal_and_names_the_settings() -> None:
    responses.post("https://test.salesforce.com/services/Soap/u/59.0", body=LOGIN_FAILED, status=500)
    with pytest.raises(FatalCrmError) as caught:
        list(_password_connector().iter_changes(ObjectKind.ACCOUNTS, None))
    assert caught.value.code == "INVALID_LOGIN"
    assert "SF_SECURITY_TOKEN" in (caught.value.next_step or "")
    assert "s3cr3t" not in str(caught.value) and "T0KEN" not in str(caught.value)


@responses.activate
def test_password_login_network_failure_names_the_connection_not_the_jwt_key() -> None:
    import requests

    responses.post("https://test.salesforce.com/services/Soap/u/59.0",
                   body=requests.exceptions.ConnectionError("connection refused"))
    with pytest.raises(CrmError) as caught:
        list(_password_connector().iter_changes(ObjectKind.ACCOUNTS, None))
    assert "connection to Salesforce failed" in str(caught.value)
    assert "SF_PRIVATE_KEY_FILE" not in str(caught.value) and "JWT" not in str(caught.value)


@responses.activate
def test_jwt_mode_posts_a_signed_assertion_for_the_client_id(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "agent.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    token = responses.post("https://login.salesforce.com/services/oauth2/token",
                           json={"access_token": "00Djwt", "instance_url": INSTANCE, "token_type": "Bearer"})
    responses.get(f"{INSTANCE}/services/data/v59.0/queryAll/", json=EMPTY_PAGE)
    settings = load_settings(env_file=None, territory_crm="salesforce", sf_username="agent@acme.de",
                             sf_client_id="3MVG9-client", sf_private_key_file=key_file)
    conn = SalesforceConnector.from_settings(settings, policy=FAST, sleep=lambda s: None)
    list(conn.iter_changes(ObjectKind.OWNERS, None))
    body = token.calls[0].request.body
    assert "jwt-bearer" in body and "assertion=" in body
    assert responses.calls[1].request.headers["Authorization"] == "Bearer 00Djwt"


def test_unreadable_jwt_key_is_fatal_and_names_the_setting(tmp_path: Path) -> None:
    key_file = tmp_path / "agent.key"
    key_file.write_text("not a key")
    settings = load_settings(env_file=None, territory_crm="salesforce", sf_username="agent@acme.de",
                             sf_client_id="3MVG9-client", sf_private_key_file=key_file)
    with pytest.raises(FatalCrmError) as caught:
        list(SalesforceConnector.from_settings(settings, policy=FAST).iter_changes(ObjectKind.OWNERS, None))
    assert "SF_PRIVATE_KEY_FILE" in (caught.value.next_step or "")
