package ssh

import (
	"regexp"
	"strings"
)

// Removed replaces every secret in a captured configuration.
const Removed = "<removed>"

// secretRules mask the value part of config lines that carry credentials.
// Each regexp has exactly one group: everything before the secret, which
// is kept; the rest of the line is replaced.
var secretRules = []*regexp.Regexp{
	regexp.MustCompile(`^(\s*enable (?:secret|password)(?: level \d+)?(?: \d+)? ).*$`),
	regexp.MustCompile(`^(\s*username \S+(?: privilege \d+)?(?: role \S+)? (?:secret|password)(?: \d+)? ).*$`),
	regexp.MustCompile(`^(\s*username \S+ .*?(?:secret|password)(?: \d+)? ).*$`),
	regexp.MustCompile(`^(\s*username \S+ (?:ssh-key|sshkey)(?: \S+)? ).*$`),
	regexp.MustCompile(`^(\s*snmp-server community ).*$`),
	regexp.MustCompile(`^(\s*snmp-server user \S+ \S+ .*?(?:auth|priv) ).*$`),
	regexp.MustCompile(`^(\s*(?:tacacs-server|radius-server) (?:host \S+ )?key(?: \d+)? ).*$`),
	regexp.MustCompile(`^(\s*(?:server-private \S+ )?key(?: \d+| 7)? ).*$`),
	regexp.MustCompile(`^(\s*(?:ip |ipv6 )?(?:ospf |ospfv3 )?(?:message-digest-key \d+ md5|authentication-key)(?: \d+)? ).*$`),
	regexp.MustCompile(`^(\s*(?:neighbor \S+ )?password(?: \d+)? ).*$`),
	regexp.MustCompile(`^(\s*(?:pre-shared-key|crypto isakmp key|key-string|wpa-psk(?: ascii| hex)?)(?: \d+)? ).*$`),
	regexp.MustCompile(`^(\s*snmp-server host \S+ (?:(?:informs|traps|version \S+|vrf \S+) )*)\S.*$`), // the v1/v2c community
	regexp.MustCompile(`^(\s*ntp authentication-key \d+ \S+ ).*$`),
	regexp.MustCompile(`^(.*\sauthentication (?:md5 key-string(?: \d+)?|text) ).*$`),                                                                     // HSRP, VRRP
	regexp.MustCompile(`^(\s*(?:encrypted-password|password-hashed|authentication-key|secret|pre-shared-key (?:ascii-text|hexadecimal)|community) ).*$`), // Junos set/hierarchy style
	regexp.MustCompile(`^(\s*set \S.*? (?:encrypted-password|authentication-key|secret|community|pre-shared-key ascii-text) ).*$`),
	regexp.MustCompile(`^(\s*(?:ssh-rsa|ssh-ed25519|ecdsa-sha2-\S+) ).*$`),
	regexp.MustCompile(`^(\s*(?:lsp-password|area-password|domain-password|hello-password)(?: hmac-md5| text)?(?: encrypted| clear)? ).*$`),
	// safety nets, last: Junos marks every secret it prints; crypt(3) and
	// Junos $9$ values anywhere; any other "… password|secret <value>"
	regexp.MustCompile(`^(.*?\S )"[^"]*";? *## SECRET-DATA\s*$`),
	regexp.MustCompile(`^(.*?\s)"?\$(?:1|5|6|8|9|14)\$.*$`),
	regexp.MustCompile(`^(.*?\s(?:password|secret)(?: \d+)? )\S.*$`),
}

// keyBlock opens a multi-line key or certificate body that is masked whole.
var keyBlock = regexp.MustCompile(`^\s*(?:crypto pki certificate chain|certificate (?:self-signed|ca) |-----BEGIN .*PRIVATE KEY-----|key-string$)`)

// MaskSecrets returns cfg with passwords, keys, communities and similar
// values replaced by <removed>. It errs on the side of removing too much.
func MaskSecrets(cfg string) string {
	lines := strings.Split(cfg, "\n")
	inCert := false
	for i, l := range lines {
		trim := strings.TrimSpace(l)
		if inCert {
			if trim == "quit" || strings.HasPrefix(trim, "-----END") {
				inCert = false
				lines[i] = l
				continue
			}
			lines[i] = leadingSpace(l) + Removed
			continue
		}
		if keyBlock.MatchString(l) && !strings.Contains(trim, "chain") {
			inCert = true
			continue
		}
		for _, re := range secretRules {
			if m := re.FindStringSubmatch(l); m != nil {
				lines[i] = m[1] + Removed
				break
			}
		}
	}
	return strings.Join(lines, "\n")
}

func leadingSpace(s string) string {
	return s[:len(s)-len(strings.TrimLeft(s, " \t"))]
}
