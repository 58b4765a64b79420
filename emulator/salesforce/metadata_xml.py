"""SOAP envelopes for the Metadata API: parse a request, spell results and faults.

Requests are read namespace-agnostically (zeep prefixes ``ns0``, jsforce ``tns``), each
metadata component becoming ``(xsi:type, nested dict)``; repeated child tags become lists.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


class SoapRequest:
    """The operation, session id and components (or names) of one Metadata API call."""

    def __init__(self, body: bytes) -> None:
        root = ET.fromstring(body)
        self.session_id = ""
        self.operation = ""
        self.components: list[tuple[str, dict[str, Any]]] = []
        self.type_name = ""
        self.full_names: list[str] = []
        for el in root.iter():
            if _local(el.tag) == "sessionId":
                self.session_id = (el.text or "").strip()
        body_el = next(el for el in root if _local(el.tag) == "Body")
        op = next(iter(body_el))
        self.operation = _local(op.tag)
        for child in op:
            name = _local(child.tag)
            if name == "metadata":
                kind = child.get(XSI_TYPE, "").rpartition(":")[2]
                self.components.append((kind, element_dict(child)))
            elif name in ("type", "metadataType"):
                self.type_name = (child.text or "").strip()
            elif name == "fullNames":
                self.full_names.append((child.text or "").strip())


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def element_dict(el: ET.Element) -> Any:
    """Children as a dict (repeated tags as lists); a leaf as its text."""
    children = list(el)
    if not children:
        return (el.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        key, value = _local(child.tag), element_dict(child)
        if key in out:
            out[key] = out[key] if isinstance(out[key], list) else [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _xml(value: Any, tag: str) -> str:
    if isinstance(value, list):
        return "".join(_xml(v, tag) for v in value)
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_xml(v, k) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def envelope(operation: str, results: list[dict[str, Any]]) -> str:
    """``<{operation}Response>`` with one ``<result>`` per entry."""
    inner = "".join(_xml(r, "result") for r in results)
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
            f'xmlns="{MD_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
            f"<{operation}Response>{inner}</{operation}Response></soapenv:Body></soapenv:Envelope>")


def read_envelope(records: list[tuple[str, dict[str, Any]]]) -> str:
    """``readMetadataResponse``: one ``<records xsi:type=…>`` per component found."""
    inner = "".join(_xml(body, "records").replace("<records>", f'<records xsi:type="{kind}">', 1)
                    for kind, body in records)
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
            f'xmlns="{MD_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
            f"<readMetadataResponse><result>{inner}</result></readMetadataResponse>"
            "</soapenv:Body></soapenv:Envelope>")


def fault(code: str, message: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
            'xmlns:sf="urn:fault.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
            f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
