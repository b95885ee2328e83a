"""Facts the emulator shares with the real services (see ../shared/reference/graph-sync-api.md)."""

# Graph root per cloud; it is also the token audience and `<root>/.default` is the scope to ask for.
GRAPH_ROOTS = {
    "global": "https://graph.microsoft.com",
    "usgov": "https://graph.microsoft.us",
    "usgov_dod": "https://dod-graph.microsoft.us",
    "china": "https://microsoftgraph.chinacloudapi.cn",
}
CLOUDS = tuple(GRAPH_ROOTS)

# Microsoft Graph's well-known application id; `<it>/.default` is accepted as a scope as well.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

# The synchronizationSecret enum, exactly as the CSDL spells it, without unknownFutureValue.
SYNCHRONIZATION_SECRET_KEYS = frozenset("""
None UserName Password SecretToken AppKey BaseAddress ClientIdentifier ClientSecret SingleSignOnType Sandbox Url
Domain ConsumerKey ConsumerSecret TokenKey TokenExpiration Oauth2AccessToken Oauth2AccessTokenCreationTime
Oauth2RefreshToken SyncAll InstanceName Oauth2ClientId Oauth2ClientSecret CompanyId UpdateKeyOnSoftDelete
SynchronizationSchedule SystemOfRecord SandboxName EnforceDomain SyncNotificationSettings SkipOutOfScopeDeletions
Oauth2AuthorizationCode Oauth2RedirectUri ApplicationTemplateIdentifier Oauth2TokenExchangeUri Oauth2AuthorizationUri
AuthenticationType Server PerformInboundEntitlementGrants HardDeletesEnabled SyncAgentCompatibilityKey
SyncAgentADContainer ValidateDomain TestReferences ConnectionString
""".split())
assert len(SYNCHRONIZATION_SECRET_KEYS) == 45

AUTHORIZATION_CODE_KEY = "Oauth2AuthorizationCode"

# Keys whose saved value GET .../synchronization/secrets answers as "*" (that the service masks is seen in real use:
# Terraform azuread keeps its own value where it reads "*"; which keys it masks is inferred: those holding a secret).
SENSITIVE_SECRET_KEYS = frozenset({
    "Password", "SecretToken", "AppKey", "ClientSecret", "ConsumerSecret", "TokenKey", "Oauth2AccessToken",
    "Oauth2RefreshToken", "Oauth2ClientSecret", "Oauth2AuthorizationCode", "ConnectionString",
    "SyncAgentCompatibilityKey",
})

# Application permissions the emulator understands.
PERMISSION_SYNC_ALL = "Synchronization.ReadWrite.All"
PERMISSION_SYNC_READ_ALL = "Synchronization.Read.All"
PERMISSION_OWNED_BY = "Application.ReadWrite.OwnedBy"
KNOWN_PERMISSIONS = frozenset({
    PERMISSION_SYNC_ALL,
    PERMISSION_SYNC_READ_ALL,
    PERMISSION_OWNED_BY,
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
})
# Any of these lets a caller read service principal and application objects; the Synchronization.*
# permissions alone do not (Graph's permission tables for servicePrincipal/application reads list only these).
DIRECTORY_READ_PERMISSIONS = frozenset({
    PERMISSION_OWNED_BY,
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
})

FEDERATION_DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
# In seeds, this issuer name stands for the emulator's own external issuer (its URL has a dynamic port).
FEDERATION_ISSUER_ALIAS = "emulator"

JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

DEFAULT_TOKEN_LIFETIME_SECONDS = 3599
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
MAX_BATCH_REQUESTS = 20
