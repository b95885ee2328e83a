"""The HTTPS listeners: one per cloud, all in one asyncio process, sharing one EmulatorState."""

import asyncio
import json
import logging
import os
import re
import signal
import socket
import ssl
import time
import uuid

from aiohttp import web

from . import control, graph, identity
from .constants import CLOUDS, GRAPH_ROOTS
from .faults import take_rule
from .pki import write_server_material
from .seed import load_seed
from .state import EmulatorState, redact
from .tokens import TokenRejected

LOG = logging.getLogger("entra_emulator")
INFO_FILE = "emulator.json"
_SIGN_IN = re.compile(r"^/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token|discovery/v2\.0/keys)$")
_MSI = re.compile(r"^/msi(?:/([^/]+))?/token$")


class DroppedConnection(Exception):
    """Raised inside a handler after the transport was aborted on purpose."""


def _abort(request):
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise DroppedConnection()


def _respond(status, headers, body, extra_headers=None):
    if body is None:
        payload = b""
    elif isinstance(body, (bytes, bytearray)):
        payload = bytes(body)
    else:
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
    all_headers = dict(headers)
    if extra_headers:
        all_headers.update(extra_headers)
    if payload:
        content_type = all_headers.pop("Content-Type", "application/json")
    else:
        all_headers.pop("Content-Type", None)
        content_type = None
    response = web.Response(status=status, body=payload if payload else None, headers=all_headers)
    if content_type:
        response.headers["Content-Type"] = content_type
    return response


async def _wait_until_due(received_at, latency_ms):
    """Wait until ``latency_ms`` after the request arrived. The emulator's own work counts toward it: Graph's
    servers work on concurrent requests in parallel, while this one process would make each answer of a busy moment
    wait for the work of the others if it worked after the wait."""
    remaining = (latency_ms or 0) / 1000.0 - (time.monotonic() - received_at)
    if remaining > 0:
        await asyncio.sleep(remaining)


def _body_for_log(raw, parsed):
    if not raw:
        return None
    if parsed is graph._MALFORMED:
        return "<%d bytes, not JSON>" % len(raw)
    return redact(parsed)


class Emulator:
    """Request handling for the four listeners."""

    def __init__(self, state, info):
        self.state = state
        self.info = info

    def handler_for(self, cloud):
        """The aiohttp handler of one cloud's listener."""

        async def handle(request):
            try:
                return await self._route(request, cloud)
            except DroppedConnection:
                raise asyncio.CancelledError() from None

        return handle

    async def _route(self, request, cloud):
        path = request.path
        if path.startswith("/_emulator/"):
            raw = await request.read()
            status, headers, body = control.handle(self.state, request.method, path, dict(request.query), raw,
                                                   request.remote, self.info)
            return _respond(status, headers, body)
        if path.startswith("/v1.0/") or path.startswith("/beta/"):
            return await self._graph(request, cloud)
        match = _SIGN_IN.match(path)
        if match:
            return await self._sign_in(request, cloud, match.group(1), match.group(2))
        match = _MSI.match(path)
        if match:
            return await self._managed_identity(request, cloud, match.group(1))
        if path == "/federation/.well-known/openid-configuration":
            return _respond(200, identity.JSON, self.state.federation.openid_configuration())
        if path == "/federation/jwks":
            return _respond(200, identity.JSON, {"keys": [self.state.federation.key.jwk()]})
        if path in ("/v1.0", "/beta") or path.startswith("/v") or path.startswith("/$"):
            request_id = str(uuid.uuid4())
            return _respond(400, {"Content-Type": graph.ODATA_JSON},
                            graph.error_body("BadRequest", "Invalid version.", request_id, request_id))
        return _respond(404, identity.JSON, {"error": "not_found", "error_description": "No such endpoint."})

    # ---- Graph -----------------------------------------------------------------------------------------

    async def _graph(self, request, cloud):
        state = self.state
        received_at = time.monotonic()
        request_id = str(uuid.uuid4())
        client_request_id = request.headers.get("client-request-id") or request_id
        ids = {"request-id": request_id, "client-request-id": client_request_id}
        path = request.path
        version, _slash, relative = path[1:].partition("/")
        query = dict(request.query.items())
        raw = await request.read()
        parsed_body = graph.parse_json_body(raw) if raw else None
        is_batch = relative in ("$batch", "$batch/")
        kind = "batch" if is_batch else "graph"
        entry = state.log_request(cloud=cloud, kind=kind, method=request.method, path=path, query=query,
                                  status=None, body=_body_for_log(raw, parsed_body), tenant_id=None, client_id=None,
                                  operation=None, **ids)
        drop = take_rule(state.faults["drop_connections"], path, "graph")
        if drop is not None and drop["when"] == "before":
            entry["dropped"] = "before"
            state.counters["dropped_connections"] += 1
            _abort(request)
        redirect = take_rule(state.faults["redirects"], path, "graph")
        if redirect is not None:
            return self._redirect(entry, redirect, ids)
        call = graph.GraphCall(request.method, version, relative, query, request.headers.get("Content-Type"),
                               parsed_body, None, None, None, cloud,
                               state.listener_urls[cloud], request_id, client_request_id)
        answer = self._authenticate(request, call)
        if answer is None:
            entry["tenant_id"] = call.tenant.id
            entry["client_id"] = call.claims.get("appid")
            if is_batch:
                if request.method != "POST":
                    answer = graph._method_not_allowed(call)
                else:
                    burst = take_rule(state.faults["error_bursts"], path, "graph")
                    if burst is not None:
                        call.operation = "error_burst"
                        answer = graph.burst_answer(call, burst)
                    else:
                        answer = graph.run_batch(state, call, self._batch_logger(cloud, entry))
            else:
                answer = graph.request_faults(state, call, path) or graph.dispatch(call)
        status, headers, body = answer
        entry["status"] = status
        entry["operation"] = call.operation
        state.count(kind, tenant_id=call.tenant.id if call.tenant else None, operation=call.operation,
                    status=status)
        response = _respond(status, headers, body, ids)
        await _wait_until_due(received_at, state.faults["latency_ms"])
        if drop is not None:
            # The state change above happened; the client only sees the connection die.
            entry["dropped"] = "after"
            state.counters["dropped_connections"] += 1
            _abort(request)
        return response

    def _batch_logger(self, cloud, envelope_entry):
        state = self.state

        def log_item(call, absolute_path, query, body, status):
            state.log_request(cloud=cloud, kind="batch_item", method=call.method, path=absolute_path, query=query,
                              status=status, body=body, tenant_id=call.tenant.id,
                              client_id=call.claims.get("appid"), operation=call.operation, in_batch=True,
                              batch_seq=envelope_entry["seq"], **{"request-id": call.request_id,
                                                                  "client-request-id": call.client_request_id})

        return log_item

    def _authenticate(self, request, call):
        authorization = request.headers.get("Authorization", "")
        scheme, _space, token = authorization.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="", authorization_uri="%s", client_id="%s"'
                     % (self.state.listener_urls[call.cloud] + "/common/oauth2/authorize",
                        "00000003-0000-0000-c000-000000000000")}
        if scheme.lower() != "bearer" or not token.strip():
            call.operation = "unauthenticated"
            return graph.graph_error(call, 401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
        try:
            claims = self.state.tokens.verify(token.strip(), GRAPH_ROOTS[call.cloud], time.time())
        except TokenRejected as rejected:
            call.operation = "unauthenticated"
            challenge["WWW-Authenticate"] += ', error="invalid_token"'
            return graph.graph_error(call, 401, "InvalidAuthenticationToken", str(rejected), challenge)
        tenant = self.state.tenants.get(claims.get("tid"))
        if tenant is None or tenant.cloud != call.cloud:
            call.operation = "unauthenticated"
            return graph.graph_error(call, 401, "InvalidAuthenticationToken",
                                     "Access token validation failure. Invalid audience.", challenge)
        call.claims = claims
        call.tenant = tenant
        call.principal = self.state.principal_for_claims(claims)
        return None

    # ---- sign-in -----------------------------------------------------------------------------------------

    async def _sign_in(self, request, cloud, reference, endpoint):
        state = self.state
        received_at = time.monotonic()
        correlation_id = request.headers.get("client-request-id") or str(uuid.uuid4())
        if endpoint.startswith("v2.0"):
            state.count("openid_configuration")
            status, headers, body = identity.openid_configuration(state, cloud, reference, correlation_id)
            return _respond(status, headers, body)
        if endpoint.startswith("discovery"):
            state.count("jwks")
            status, headers, body = identity.jwks(state)
            return _respond(status, headers, body)
        if request.method != "POST":
            return _respond(405, identity.JSON, {"error": "invalid_request",
                                                 "error_description": "The token endpoint accepts POST only."})
        form = {name: value for name, value in (await request.post()).items() if isinstance(value, str)}
        entry = state.log_request(cloud=cloud, kind="token", method="POST", path=request.path, query={},
                                  status=None, body=redact(form), tenant_id=None, client_id=form.get("client_id"),
                                  operation="token", **{"request-id": None, "client-request-id": correlation_id})
        redirect = take_rule(state.faults["redirects"], request.path, "token")
        if redirect is not None:
            return self._redirect(entry, redirect, {"x-ms-request-id": str(uuid.uuid4())})
        drop, answer = self._token_faults(request, entry, request.path)
        if answer is None:
            status, headers, body, facts = identity.token_request(
                state, cloud, reference, form, request.headers.get("Authorization"), correlation_id)
            entry.update(tenant_id=facts.get("tenant_id"), client_id=facts.get("client_id"),
                         credential=facts.get("credential"))
        else:
            status, headers, body = identity.aadsts_error(
                state.listener_urls[cloud], answer["status"], "temporarily_unavailable", 90033,
                "A transient error has occurred. Please try again.", correlation_id)
            if answer.get("retry_after") is not None:
                headers = dict(headers, **{"Retry-After": str(answer["retry_after"])})
        entry["status"] = status
        entry["request-id"] = headers.get("x-ms-request-id")
        state.count("token", status=status)
        return await self._finish_token(request, received_at, entry, drop, status, headers, body)

    def _redirect(self, entry, rule, headers):
        entry["status"] = rule["status"]
        entry["operation"] = "redirect"
        return _respond(rule["status"], identity.JSON, {"error": "redirected", "error_description": "Moved."},
                        dict(headers, Location=rule["location"]))

    def _token_faults(self, request, entry, path):
        """Drop-before and 5xx bursts for token requests; returns (drop rule, burst rule)."""
        state = self.state
        drop = take_rule(state.faults["drop_connections"], path, "token")
        if drop is not None and drop["when"] == "before":
            entry["dropped"] = "before"
            state.counters["dropped_connections"] += 1
            _abort(request)
        return drop, take_rule(state.faults["error_bursts"], path, "token")

    async def _finish_token(self, request, received_at, entry, drop, status, headers, body):
        """Answer a token or managed identity request once its latency is over (or drop the connection then)."""
        response = _respond(status, headers, body)
        await _wait_until_due(received_at, self.state.faults["token_latency_ms"])
        if drop is not None:
            entry["dropped"] = "after"
            self.state.counters["dropped_connections"] += 1
            _abort(request)
        return response

    async def _managed_identity(self, request, cloud, tenant_reference):
        state = self.state
        received_at = time.monotonic()
        query = dict(request.query.items())
        entry = state.log_request(cloud=cloud, kind="msi", method=request.method, path=request.path, query=query,
                                  status=None, body=None, tenant_id=None, client_id=query.get("client_id"),
                                  operation="managed_identity", **{"request-id": None, "client-request-id": None})
        drop, answer = self._token_faults(request, entry, request.path)
        if answer is None:
            status, headers, body, facts = identity.managed_identity_token(
                state, tenant_reference, query, request.headers.get("X-IDENTITY-HEADER"))
            entry.update(tenant_id=facts.get("tenant_id"), client_id=facts.get("client_id"))
        else:
            status, headers, body = answer["status"], identity.JSON, {
                "statusCode": answer["status"], "message": "The identity endpoint is temporarily unavailable."}
        entry["status"] = status
        state.count("msi", status=status)
        return await self._finish_token(request, received_at, entry, drop, status, headers, body)


def _bind(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def write_info(state_dir, info):
    """Write emulator.json atomically so readers never see half a file."""
    path = os.path.join(state_dir, INFO_FILE)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2, sort_keys=True)
    os.replace(temporary, path)
    return path


def build_info(state, state_dir, ca_path, seed_path):
    """The dict published as emulator.json (and by GET /_emulator/info)."""
    urls = state.listener_urls
    global_url = urls["global"]
    tenants = {tenant.id: {"cloud": tenant.cloud, "display_name": tenant.display_name,
                           "authority": "%s/%s" % (urls[tenant.cloud], tenant.id)}
               for tenant in state.tenants.values()}
    return {
        "pid": os.getpid(),
        "state_dir": state_dir,
        "seed_path": seed_path,
        "ca_path": ca_path,
        "control_url": global_url,
        "clouds": {cloud: {"authority_host": urls[cloud], "graph_endpoint": urls[cloud],
                           "graph_root": GRAPH_ROOTS[cloud], "scope": GRAPH_ROOTS[cloud] + "/.default"}
                   for cloud in CLOUDS},
        "tenants": tenants,
        "managed_identity": {
            "endpoint": global_url + "/msi/token",
            "header": state.msi_header,
            "endpoints_by_tenant": {tenant_id: "%s/msi/%s/token" % (global_url, tenant_id) for tenant_id in tenants},
        },
        "certificates": state.certificates_info,
        "federated_issuer": state.federation.issuer_url,
    }


async def run(seed_path, state_dir, port_base=None, faults=None, log_limit=None, ready_callback=None):
    """Run the emulator until SIGTERM/SIGINT; writes emulator.json once every listener answers."""
    state_dir = os.path.abspath(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    expanded = load_seed(seed_path)
    kwargs = {"log_limit": log_limit} if log_limit else {}
    state = EmulatorState(expanded, state_dir, base_faults=faults, **kwargs)
    ca_path, certificate_path, key_path = write_server_material(state_dir)
    ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
    ssl_context.load_cert_chain(certificate_path, key_path)
    sockets = {cloud: _bind(port_base + index if port_base else 0) for index, cloud in enumerate(CLOUDS)}
    state.set_listener_urls({cloud: "https://127.0.0.1:%d" % sock.getsockname()[1] for cloud, sock in sockets.items()})
    info = {}
    emulator = Emulator(state, info)
    runners = []
    for cloud, sock in sockets.items():
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", emulator.handler_for(cloud))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        runners.append(runner)
    info.update(build_info(state, state_dir, ca_path, os.path.abspath(seed_path)))
    info_path = write_info(state_dir, info)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    if ready_callback:
        ready_callback(info)
    LOG.info("entra emulator listening: %s", json.dumps(state.listener_urls))
    try:
        await stop.wait()
    finally:
        for runner in runners:
            await runner.cleanup()
        try:
            with open(info_path, "r", encoding="utf-8") as handle:
                if json.load(handle).get("pid") == os.getpid():
                    os.remove(info_path)
        except (OSError, ValueError):
            pass
    LOG.info("entra emulator stopped")
