"""Throw-away PKI of the emulator: a CA, the loopback server certificate and client certificates.

Everything here is generated fresh at start-up and lives only in the emulator's state directory.
"""

import base64
import datetime
import hashlib
import ipaddress
import os
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Short-lived on purpose: these certificates must never outlive a test session by much.
CERTIFICATE_VALIDITY = datetime.timedelta(days=7)
CLOCK_SKEW = datetime.timedelta(minutes=5)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _write_private(path, data):
    """Write key material readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _private_key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def thumbprints(certificate):
    """Return (sha1_hex, sha256_hex) of a certificate's DER form, upper-case hex as the portal shows."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).hexdigest().upper(), hashlib.sha256(der).hexdigest().upper()


def b64url_thumbprint(hex_digest):
    """Turn a hex thumbprint into the base64url form used by the JWT `x5t`/`x5t#S256` headers."""
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode("ascii")


class CertificateAuthority:
    """A self-signed CA that signs the server certificate; its PEM is what clients must trust."""

    def __init__(self):
        # EC keys make TLS handshakes cheap, which matters for the throughput target.
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entra-emulator throw-away CA")])
        public_key = self.key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - CLOCK_SKEW)
            .not_valid_after(_now() + CERTIFICATE_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def pem(self):
        """The CA certificate as PEM bytes."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue_server_certificate(self):
        """Issue the loopback server certificate; returns (certificate_pem, private_key_pem)."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - CLOCK_SKEW)
            .not_valid_after(_now() + CERTIFICATE_VALIDITY)
            .add_extension(
                x509.SubjectAlternativeName([
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        )
        certificate = builder.sign(self.key, hashes.SHA256())
        return certificate.public_bytes(serialization.Encoding.PEM), _private_key_pem(key)


def generate_client_certificate(common_name):
    """Create a self-signed RSA client certificate as an app registration would hold.

    RSA because msal signs client assertions with PS256/RS256.
    Returns (certificate, private_key).
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - CLOCK_SKEW)
        .not_valid_after(_now() + CERTIFICATE_VALIDITY)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def write_client_certificate(directory, client_id, certificate, key):
    """Write a generated client certificate as PEM (key + certificate), separate files and a PFX.

    Returns the dict published under `certificates.<client_id>` in emulator.json.
    """
    os.makedirs(directory, exist_ok=True)
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = _private_key_pem(key)
    pfx_password = "emulator-pfx-" + secrets.token_hex(8)
    pfx = pkcs12.serialize_key_and_certificates(
        client_id.encode("ascii"), key, certificate, None,
        serialization.BestAvailableEncryption(pfx_password.encode("ascii")),
    )
    paths = {
        "pem": os.path.join(directory, client_id + ".pem"),
        "certificate_pem": os.path.join(directory, client_id + ".crt.pem"),
        "key_pem": os.path.join(directory, client_id + ".key.pem"),
        "pfx": os.path.join(directory, client_id + ".pfx"),
    }
    _write_private(paths["pem"], key_pem + certificate_pem)
    _write_private(paths["certificate_pem"], certificate_pem)
    _write_private(paths["key_pem"], key_pem)
    _write_private(paths["pfx"], pfx)
    sha1_hex, sha256_hex = thumbprints(certificate)
    return dict(paths, pfx_password=pfx_password, thumbprint_sha1=sha1_hex, thumbprint_sha256=sha256_hex)


def load_certificate_file(path):
    """Read the (first) certificate from a PEM file given in a seed; a private key in it is ignored."""
    with open(path, "rb") as handle:
        data = handle.read()
    return x509.load_pem_x509_certificate(data)


def write_server_material(state_dir):
    """Create the CA and server certificate under state_dir; returns (ca_path, server_cert_path, server_key_path)."""
    authority = CertificateAuthority()
    server_certificate_pem, server_key_pem = authority.issue_server_certificate()
    ca_path = os.path.join(state_dir, "ca.pem")
    server_cert_path = os.path.join(state_dir, "server.pem")
    server_key_path = os.path.join(state_dir, "server.key")
    with open(ca_path, "wb") as handle:
        handle.write(authority.pem())
    # The server chain includes the CA so clients that only trust the CA can build the path.
    _write_private(server_cert_path, server_certificate_pem + authority.pem())
    _write_private(server_key_path, server_key_pem)
    return ca_path, server_cert_path, server_key_path
