"""Where the vendor's webhook lives and how large a delivery may be, in one place.

The URLconf, the lean ASGI route (webhooks.asgi), the edge's body limit (crokodial.edge), the
schema hooks and the HTTPS-redirect exemption all read these. No Django imports: settings does.
"""

# Under the API's prefix (`api/`, crokodial.urls), with or without the trailing slash.
NEXTGEN_WEBHOOK_ROUTE = r"webhooks/nextgen/?"

# The largest delivery body, refused by the edge (crokodial.edge) before it is read.
NEXTGEN_WEBHOOK_MAX_BODY_BYTES = 1024 * 1024
