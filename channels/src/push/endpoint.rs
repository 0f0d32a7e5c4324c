//! Which push endpoints may be called: the guard against server-side request forgery through push sign-ups.
//!
//! A push endpoint comes from an anonymous browser, so it is checked twice:
//! - [`EndpointPolicy::check`] (at sign-up and again before every send, no network): `https` only, port 443,
//!   no credentials in the URL, the host on the allow-list of push services, and an IP literal never a
//!   non-public address.
//! - [`GuardedResolver`] (while connecting): every address a name resolves to must be public ([`is_public`]);
//!   the HTTP client connects to exactly the addresses the resolver returned, so a name that resolves to a
//!   public address when checked and a private one when connecting (DNS rebinding) cannot slip through.
//!
//! Tests and benchmarks run the push service stand-in on loopback: [`EndpointPolicy::allow_loopback`] lets
//! `http` and `https` to 127.0.0.0/8, `[::1]` and `localhost` (resolving to loopback) through, and nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

/// The push services of the browsers residents use: Chrome, Edge (Chromium), Opera, Samsung Internet and
/// Android use Firebase Cloud Messaging; Firefox Mozilla's autopush; legacy Edge Windows Push Notification
/// Services; Safari (macOS 13+, iOS 16.4+) Apple's web push service.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &[
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.notify.windows.com",
    "web.push.apple.com",
    "*.push.apple.com",
];

/// Why an endpoint may not be called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("not a URL: {0}")]
    NotUrl(String),
    #[error("must be an https URL (got {0}:)")]
    NotHttps(String),
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must use the default https port 443 (got {0})")]
    Port(u16),
    #[error(
        "`{0}` is a non-public address (private, loopback, link-local, shared, multicast, documentation or unspecified)"
    )]
    ForbiddenAddress(IpAddr),
    #[error("`{0}` is not one of the allowed push services")]
    HostNotAllowed(String),
    #[error("`{host}` resolves to `{address}`, a non-public address")]
    ResolvesToForbidden { host: String, address: IpAddr },
    #[error("`{host}` could not be resolved: {reason}")]
    Unresolvable { host: String, reason: String },
    #[error("`{0}` is not a host name or `*.` followed by one")]
    BadPattern(String),
}

impl EndpointError {
    /// The refusal in Japanese, for the resident's page.
    pub fn japanese(&self) -> &'static str {
        match self {
            EndpointError::NotUrl(_) | EndpointError::Credentials | EndpointError::Port(_) => {
                "プッシュ通知の登録情報（送り先）が正しくありません。"
            }
            EndpointError::NotHttps(_) => {
                "プッシュ通知の送り先は https の URL でなければなりません。"
            }
            EndpointError::ForbiddenAddress(_) | EndpointError::ResolvesToForbidden { .. } => {
                "プッシュ通知の送り先に、内部向けのアドレスは使えません。"
            }
            EndpointError::HostNotAllowed(_)
            | EndpointError::Unresolvable { .. }
            | EndpointError::BadPattern(_) => {
                "このブラウザのプッシュ通知サービスには対応していません。別のブラウザかメールでご登録ください。"
            }
        }
    }
}

/// An allowed host: `fcm.googleapis.com` (exactly that name) or `*.push.apple.com` (any name below it, not the
/// name itself). An IP address may be named exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    below: bool,
}

impl FromStr for HostPattern {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let (below, host) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, text.clone()),
        };
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        let is_ip = host.parse::<IpAddr>().is_ok();
        if host.is_empty() || (below && is_ip) || !(is_ip || host.split('.').all(label_ok)) {
            return Err(EndpointError::BadPattern(text));
        }
        Ok(HostPattern { host, below })
    }
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        if self.below {
            host.strip_suffix(&self.host)
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.'))
        } else {
            host == self.host
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.below {
            write!(f, "*.{}", self.host)
        } else {
            f.write_str(&self.host)
        }
    }
}

/// The endpoints the hub may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPolicy {
    allowed: Vec<HostPattern>,
    allow_loopback: bool,
}

impl Default for EndpointPolicy {
    fn default() -> Self {
        EndpointPolicy {
            allowed: DEFAULT_ALLOWED_HOSTS
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
            allow_loopback: false,
        }
    }
}

impl EndpointPolicy {
    /// From host patterns (see [`HostPattern`]); the first bad one is the error.
    pub fn new<S: AsRef<str>>(allowed: &[S], allow_loopback: bool) -> Result<Self, EndpointError> {
        Ok(EndpointPolicy {
            allowed: allowed
                .iter()
                .map(|p| p.as_ref().parse())
                .collect::<Result<_, _>>()?,
            allow_loopback,
        })
    }

    /// Also lets the loopback stand-ins of tests and benchmarks through (`http` too).
    pub fn allow_loopback(mut self, allow: bool) -> Self {
        self.allow_loopback = allow;
        self
    }

    pub fn allowed_hosts(&self) -> impl Iterator<Item = String> + '_ {
        self.allowed.iter().map(ToString::to_string)
    }

    /// Whether a connection to `ip` is allowed: public, or loopback when stand-ins are allowed.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        is_public(ip) || (self.allow_loopback && is_loopback(ip))
    }

    /// The checks that need no network (see the module documentation); the parsed URL when it passes.
    pub fn check(&self, endpoint: &str) -> Result<url::Url, EndpointError> {
        let url = url::Url::parse(endpoint).map_err(|e| EndpointError::NotUrl(e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::Credentials);
        }
        let loopback = self.allow_loopback
            && match url.host() {
                Some(url::Host::Ipv4(ip)) => is_loopback(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => is_loopback(IpAddr::V6(ip)),
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                None => false,
            };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            other => return Err(EndpointError::NotHttps(other.to_owned())),
        }
        if loopback {
            return Ok(url);
        }
        if let Some(port) = url.port() {
            return Err(EndpointError::Port(port));
        }
        let host = match url.host() {
            Some(url::Host::Ipv4(ip)) => {
                let ip = IpAddr::V4(ip);
                if !is_public(ip) {
                    return Err(EndpointError::ForbiddenAddress(ip));
                }
                ip.to_string()
            }
            Some(url::Host::Ipv6(ip)) => {
                let ip = IpAddr::V6(ip);
                if !is_public(ip) {
                    return Err(EndpointError::ForbiddenAddress(ip));
                }
                ip.to_string()
            }
            Some(url::Host::Domain(name)) => name.trim_end_matches('.').to_ascii_lowercase(),
            None => return Err(EndpointError::NotUrl("no host".into())),
        };
        if !self.allowed.iter().any(|p| p.matches(&host)) {
            return Err(EndpointError::HostNotAllowed(host));
        }
        Ok(url)
    }

    /// Every address of `addresses` must be allowed (one bad answer refuses the name: it may be a rebinding).
    pub fn check_resolved(
        &self,
        host: &str,
        addresses: &[SocketAddr],
    ) -> Result<(), EndpointError> {
        if addresses.is_empty() {
            return Err(EndpointError::Unresolvable {
                host: host.to_owned(),
                reason: "no addresses".into(),
            });
        }
        match addresses.iter().find(|a| !self.address_allowed(a.ip())) {
            Some(bad) => Err(EndpointError::ResolvesToForbidden {
                host: host.to_owned(),
                address: bad.ip(),
            }),
            None => Ok(()),
        }
    }
}

/// Loopback: 127.0.0.0/8, `::1`, and either as an IPv4-mapped IPv6 address.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether `ip` is a public unicast address: not private (RFC 1918), loopback, link-local, shared (CGNAT,
/// RFC 6598), multicast, broadcast, documentation, benchmarking, reserved, unspecified; for IPv6 only global
/// unicast (2000::/3) outside documentation, Teredo/ORCHID (2001::/23), 6to4 and NAT64 ranges, and an
/// IPv4-mapped address judged as its IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let forbidden = a == 0 // "this network", unspecified
        || a == 10 // private
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local (cloud metadata services)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !forbidden
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    // 2001::/23 (Teredo, ORCHID, benchmarking, …) and 2001:db8::/32 (documentation).
    let forbidden = (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8))
        || s[0] == 0x2002 // 6to4 (embeds any IPv4 address)
        || (s[0] & 0xfff0) == 0x3ff0; // 3fff::/20 documentation
    // ::, ::1, ::ffff:0:0/96 handled above, 64:ff9b::/96 (NAT64), fc00::/7, fe80::/10, ff00::/8 are all outside
    // 2000::/3.
    global_unicast && !forbidden
}

/// A DNS resolver for the push client that refuses names resolving to addresses the policy forbids. The client
/// connects to exactly the addresses it returns.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<EndpointPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<EndpointPolicy>) -> Self {
        GuardedResolver { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| EndpointError::Unresolvable {
                    host: host.clone(),
                    reason: e.to_string(),
                })?
                .collect();
            policy.check_resolved(&host, &addresses)?;
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &EndpointPolicy, endpoint: &str) -> EndpointError {
        policy.check(endpoint).expect_err(endpoint)
    }

    #[test]
    fn real_push_services_pass() {
        let policy = EndpointPolicy::default();
        for ok in [
            "https://fcm.googleapis.com/fcm/send/abc:APA91b",
            "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
            "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD",
            "https://web.push.apple.com/QGuQyavXutnMH8",
            "https://api.push.apple.com/3/device/x",
            "https://FCM.googleapis.com./fcm/send/x",
        ] {
            assert!(policy.check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn other_hosts_schemes_ports_and_credentials_are_refused() {
        let policy = EndpointPolicy::default();
        assert!(matches!(
            refused(&policy, "https://push.example.net/send/1"),
            EndpointError::HostNotAllowed(_)
        ));
        // A wildcard covers names below it, not the name itself or look-alikes.
        assert!(matches!(
            refused(&policy, "https://notify.windows.com/x"),
            EndpointError::HostNotAllowed(_)
        ));
        assert!(matches!(
            refused(&policy, "https://evilnotify.windows.com/x"),
            EndpointError::HostNotAllowed(_)
        ));
        assert!(matches!(
            refused(&policy, "https://fcm.googleapis.com.evil.example/x"),
            EndpointError::HostNotAllowed(_)
        ));
        assert!(matches!(
            refused(&policy, "http://fcm.googleapis.com/fcm/send/x"),
            EndpointError::NotHttps(_)
        ));
        assert!(matches!(
            refused(&policy, "https://fcm.googleapis.com:8443/x"),
            EndpointError::Port(8443)
        ));
        assert!(matches!(
            refused(&policy, "https://user:pw@fcm.googleapis.com/x"),
            EndpointError::Credentials
        ));
        assert!(matches!(
            refused(&policy, "not a url"),
            EndpointError::NotUrl(_)
        ));
        assert!(matches!(
            refused(&policy, "file:///etc/passwd"),
            EndpointError::NotHttps(_)
        ));
    }

    #[test]
    fn non_public_addresses_are_refused_before_any_connection() {
        let policy = EndpointPolicy::default();
        for endpoint in [
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://127.0.0.1/admin",
            "http://127.0.0.1:8080/admin",
            "https://[::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://100.64.0.1/",
            "https://192.168.1.1/",
            "https://172.16.0.1/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://224.0.0.1/",
            "https://192.0.2.1/",
            "https://[2001:db8::1]/",
        ] {
            let error = refused(&policy, endpoint);
            assert!(
                matches!(
                    error,
                    EndpointError::ForbiddenAddress(_) | EndpointError::NotHttps(_)
                ),
                "{endpoint}: {error}"
            );
        }
        // Even an allow-list naming a private address does not open it.
        let naming = EndpointPolicy::new(&["10.0.0.1", "169.254.169.254"], false).unwrap();
        assert!(matches!(
            refused(&naming, "https://10.0.0.1/"),
            EndpointError::ForbiddenAddress(_)
        ));
    }

    #[test]
    fn address_ranges() {
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "142.250.196.106",
            "2001:4860:4860::8888",
            "2a00:1450::1",
        ];
        for ip in public {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        let private = [
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "127.0.0.1",
            "127.9.9.9",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.251",
            "240.0.0.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "192.0.0.8",
            "::",
            "::1",
            "::ffff:192.168.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "fc00::1",
            "fdff::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "2002:a00:1::1",
            "3fff::1",
            "100::1",
        ];
        for ip in private {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public("::ffff:8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn loopback_stand_ins_only_when_allowed_explicitly() {
        let strict = EndpointPolicy::default();
        let tests = EndpointPolicy::default().allow_loopback(true);
        for endpoint in [
            "http://127.0.0.1:4000/push/sub1",
            "http://[::1]:4000/push/x",
            "https://localhost:9/x",
        ] {
            assert!(strict.check(endpoint).is_err(), "{endpoint}");
            assert!(tests.check(endpoint).is_ok(), "{endpoint}");
        }
        // Loopback allowed still refuses private ranges and other hosts.
        assert!(tests.check("http://10.0.0.1/").is_err());
        assert!(tests.check("https://10.0.0.1/").is_err());
        assert!(tests.check("https://169.254.169.254/").is_err());
        assert!(tests.check("http://push.example.net/").is_err());
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let private: SocketAddr = "10.0.0.1:0".parse().unwrap();
        let public: SocketAddr = "8.8.8.8:0".parse().unwrap();
        assert!(strict.check_resolved("x", &[public]).is_ok());
        assert!(strict.check_resolved("x", &[loopback]).is_err());
        assert!(strict.check_resolved("x", &[public, private]).is_err());
        assert!(strict.check_resolved("x", &[]).is_err());
        assert!(tests.check_resolved("localhost", &[loopback]).is_ok());
        assert!(tests.check_resolved("x", &[loopback, private]).is_err());
    }

    #[test]
    fn patterns_parse() {
        assert!("*.push.apple.com".parse::<HostPattern>().is_ok());
        assert!("fcm.googleapis.com".parse::<HostPattern>().is_ok());
        for bad in ["", "*.", "*.10.0.0.1", "a b.example", "-x.example", "*"] {
            assert!(bad.parse::<HostPattern>().is_err(), "{bad:?}");
        }
        let policy = EndpointPolicy::new(&["push.city.example"], false).unwrap();
        assert!(policy.check("https://push.city.example/x").is_ok());
        assert!(policy.check("https://fcm.googleapis.com/x").is_err());
    }
}
