"""Signed JWTs: the access tokens the emulator issues, the external issuer for federated credentials,
and verification of client assertions signed with a registered certificate."""

import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .pki import b64url_thumbprint, thumbprints

# Entra tolerates some clock skew on client assertions; five minutes is the figure it documents for tokens.
ASSERTION_LEEWAY_SECONDS = 300
_VERIFIED_CACHE_LIMIT = 100_000


class AssertionRejected(ValueError):
    """A client assertion was refused; `aadsts`, `error` and `status` say how the token endpoint answers."""

    def __init__(self, aadsts, error, status, description):
        super().__init__(description)
        self.aadsts = aadsts
        self.error = error
        self.status = status
        self.description = description


class TokenRejected(ValueError):
    """An access token presented to Graph is not acceptable; the message is Graph's wording."""


class SigningKey:
    """An RSA key with a key id, publishing its JWK."""

    def __init__(self, key_id_prefix):
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.private_key.public_key()
        self.key_id = "%s-%s" % (key_id_prefix, uuid.uuid4().hex[:16])

    def jwk(self):
        """The public key as a JWK dict (kid, use, alg filled in)."""
        data = json.loads(RSAAlgorithm.to_jwk(self.public_key))
        data.update({"kid": self.key_id, "use": "sig", "alg": "RS256", "kty": "RSA"})
        return data

    def sign(self, claims, extra_headers=None):
        """Sign `claims` with RS256."""
        headers = {"kid": self.key_id, "typ": "JWT"}
        headers.update(extra_headers or {})
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)


class AccessTokenService:
    """Issues access tokens and verifies the ones presented to Graph (with a cache: Graph sees the same
    token thousands of times)."""

    def __init__(self):
        self.key = SigningKey("emulator")
        self._verified = {}
        self._serial_of = {}
        self._next_serial = 0
        self._expired_below_serial = 0

    def issue(self, claims):
        """Sign an access token with the given claims; returns the compact JWT."""
        token = self.key.sign(claims, {"x5t": self.key.key_id})
        self._serial_of[claims["uti"]] = self._next_serial
        self._next_serial += 1
        return token

    def expire_all(self):
        """Treat every token issued so far as expired (the control API's expire-tokens)."""
        self._expired_below_serial = self._next_serial

    def reset(self):
        """Forget expiry marks (tokens issued before a reset stay valid until their `exp`)."""
        self._expired_below_serial = 0

    def verify(self, token, audience, now):
        """Return the claims of a token Graph may accept for `audience`; raise TokenRejected otherwise."""
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = jwt.decode(token, self.key.public_key, algorithms=["RS256"],
                                    options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                             "verify_iat": False})
            except jwt.InvalidTokenError:
                raise TokenRejected("Access token validation failure. Invalid signature or malformed token.")
            if len(self._verified) >= _VERIFIED_CACHE_LIMIT:
                self._verified.clear()
            self._verified[token] = claims
        if claims.get("aud") != audience:
            raise TokenRejected("Access token validation failure. Invalid audience.")
        if claims.get("exp", 0) <= now or self._serial_of.get(claims.get("uti"), -1) < self._expired_below_serial:
            raise TokenRejected("Lifetime validation failed, the token is expired.")
        return claims


class FederationIssuer:
    """The emulator acting as an external OIDC issuer (like a CI system) for workload identity federation."""

    def __init__(self):
        self.key = SigningKey("federation")
        self.issuer_url = None  # set once the listener port is known

    def issue(self, subject, audience, lifetime_seconds, now=None):
        """Return a signed external token for `subject` and `audience`."""
        now = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer_url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + int(lifetime_seconds),
            "jti": str(uuid.uuid4()),
        }
        return self.key.sign(claims)

    def openid_configuration(self):
        """OIDC discovery document of the external issuer."""
        return {
            "issuer": self.issuer_url,
            "jwks_uri": self.issuer_url + "/jwks",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }


def registered_thumbprints(certificate):
    """Map the base64url x5t and x5t#S256 forms of a registered certificate to the certificate."""
    sha1_hex, sha256_hex = thumbprints(certificate)
    return {("x5t", b64url_thumbprint(sha1_hex)): certificate, ("x5t#S256", b64url_thumbprint(sha256_hex)): certificate}


def unverified_claims(assertion):
    """Read a JWT's header and claims without checking anything; raises AssertionRejected if malformed."""
    try:
        return jwt.get_unverified_header(assertion), jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise AssertionRejected(50027, "invalid_request", 400,
                                "JWT token is invalid or malformed.") from None


def verify_certificate_assertion(assertion, header, client_id, certificates_by_thumbprint, token_endpoint, now):
    """Check a certificate-signed client assertion the way the token endpoint does.

    Returns nothing on success, raises AssertionRejected with the AADSTS code otherwise.
    """
    algorithm = header.get("alg")
    if algorithm not in ("RS256", "PS256"):
        raise AssertionRejected(5002738, "invalid_client", 401,
                                "Invalid JWT token. '%s' is not a supported signature algorithm." % algorithm)
    certificate = None
    presented = None
    for header_name in ("x5t#S256", "x5t"):
        if header_name in header:
            presented = str(header[header_name])
            # msal keeps the base64 padding, RFC 7515 drops it; Entra accepts both.
            certificate = certificates_by_thumbprint.get((header_name, presented.rstrip("=")))
            break
    if presented is None:
        raise AssertionRejected(700027, "invalid_client", 401,
                                "Client assertion failed signature validation. [Reason - The key was not found.]")
    if certificate is None:
        raise AssertionRejected(
            700027, "invalid_client", 401,
            "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key"
            " used by client: '%s', Please visit the Azure Portal to verify the credentials of the app with id"
            " '%s'.]" % (presented, client_id))
    try:
        claims = jwt.decode(assertion, certificate.public_key(), algorithms=[algorithm],
                            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False,
                                     "verify_iat": False})
    except jwt.InvalidSignatureError:
        raise AssertionRejected(700027, "invalid_client", 401,
                                "Client assertion failed signature validation.") from None
    except jwt.InvalidTokenError:
        raise AssertionRejected(50027, "invalid_request", 400, "JWT token is invalid or malformed.") from None
    _check_assertion_claims(claims, client_id, token_endpoint, now)


def _check_assertion_claims(claims, client_id, token_endpoint, now):
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRejected(700021, "invalid_client", 401,
                                "Client assertion application identifier doesn't match 'client_id' parameter.")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if token_endpoint not in audiences:
        raise AssertionRejected(50027, "invalid_client", 401,
                                "Invalid JWT token. The audience of the client assertion must be the token"
                                " endpoint '%s'." % token_endpoint)
    expires = claims.get("exp")
    not_before = claims.get("nbf", claims.get("iat"))
    if not isinstance(expires, (int, float)) or expires + ASSERTION_LEEWAY_SECONDS < now or (
            isinstance(not_before, (int, float)) and not_before - ASSERTION_LEEWAY_SECONDS > now):
        raise AssertionRejected(700024, "invalid_client", 401, "Client assertion is not within its valid time range.")


def verify_federated_assertion(assertion, issuer, federated_credentials, now):
    """Check an external token against a client's federated credentials; returns the matching credential.

    Only tokens from the emulator's own external issuer can be verified (their keys are known); any
    other issuer is refused like an issuer without a matching federated identity record.
    """
    header, claims = unverified_claims(assertion)
    token_issuer = claims.get("iss")
    by_issuer = [item for item in federated_credentials if item["issuer"] == token_issuer]
    if not by_issuer:
        raise AssertionRejected(700211, "invalid_client", 401,
                                "No matching federated identity record found for presented assertion issuer '%s'."
                                % token_issuer)
    if token_issuer != issuer.issuer_url or header.get("kid") != issuer.key.key_id:
        raise AssertionRejected(70021, "invalid_client", 401,
                                "The key of the presented assertion could not be found at its issuer.")
    try:
        jwt.decode(assertion, issuer.key.public_key, algorithms=["RS256"],
                   options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except jwt.InvalidTokenError:
        raise AssertionRejected(700027, "invalid_client", 401,
                                "Client assertion failed signature validation.") from None
    subject = claims.get("sub")
    by_subject = [item for item in by_issuer if item["subject"] == subject]
    if not by_subject:
        raise AssertionRejected(700213, "invalid_client", 401,
                                "No matching federated identity record found for presented assertion subject '%s'."
                                " Please note that the matching is done using a case-sensitive comparison."
                                % subject)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    matching = [item for item in by_subject if item["audience"] in audiences]
    if not matching:
        raise AssertionRejected(700212, "invalid_client", 401,
                                "No matching federated identity record found for presented assertion audience '%s'."
                                % audience)
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or expires + ASSERTION_LEEWAY_SECONDS < now:
        raise AssertionRejected(700024, "invalid_client", 401, "Client assertion is not within its valid time range.")
    return matching[0]
