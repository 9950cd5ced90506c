// Package controller implements the controller_discovery backend: it reads
// the inventory that a network controller already holds instead of talking
// to every device. Two kinds are supported, chosen by scope.kind:
//
//   - catalyst_center (Cisco Catalyst Center / DNA Center Intent API):
//     token from POST /dna/system/api/v1/auth/token, then paged
//     network-device and interface lists (offset is 1-based) and site
//     membership for each device's site.
//   - mist (Juniper Mist cloud API): org sites, org inventory per device
//     type, then per-site device stats, paged by limit/page with the
//     X-Page-* response headers.
//
// Requests per run, Catalyst Center: 1 token + ⌈(D+1)/500⌉ device pages
// + ⌈(I+1)/500⌉ interface pages (the bulk list, the fewest calls; on a
// 404 it falls back to one call per device) + the site list + one
// membership call per site, skipped when every device carries
// siteNameHierarchy. Mist: the site list + one inventory walk per device
// type + one stats walk per site, pages of 100.
//
// One policy is one controller, hence one target. Both clients retry 429
// and 503 answers after Retry-After (seconds or an HTTP date), waiting on
// the run's context, and never put credentials in errors or logs. Mist is a
// cloud API and goes through the configured proxy; Catalyst Center is
// usually on the management network and is reached directly unless the
// scope names a proxy.
package controller
