//! Where webhooks may go (SPEC section 8.6): http(s) URLs whose every resolved address is
//! publicly routable, unless `CRM_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`. The check runs on
//! the addresses themselves, when an endpoint is saved and again at every connection
//! (the HTTP client resolves through `Guard`), so a name that later resolves to an
//! internal address is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

const MAX_URL_LENGTH: usize = 2048;

/// The parsed URL, or why it may not receive webhooks.
pub fn parse(raw: &str, allow_private: bool) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_LENGTH {
        return Err(format!("must be at most {MAX_URL_LENGTH} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or("must name a host")?;
    if let Ok(ip) = bare(host).parse::<IpAddr>() {
        literal(ip, allow_private)?;
    }
    Ok(url)
}

/// An IPv6 literal without its brackets.
fn bare(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

fn literal(ip: IpAddr, allow_private: bool) -> Result<(), String> {
    if allow_private || public(ip) { Ok(()) } else { Err(refusal(ip)) }
}

fn refusal(ip: IpAddr) -> String {
    format!(
        "points to {ip}, a loopback, private or link-local address; webhooks go to public addresses only \
         (CRM_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows others)"
    )
}

/// Resolves `url`'s host and checks every address, as the deliverer will.
pub async fn check_resolves(url: &Url, allow_private: bool) -> Result<(), String> {
    let Some(host) = url.host_str() else { return Err("must name a host".into()) };
    let port = url.port_or_known_default().unwrap_or(443);
    resolve(bare(host), port, allow_private).await.map(|_| ())
}

async fn resolve(host: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    resolve_checked(host, port, allow_private).await.map_err(|e| e.to_string())
}

/// A connection the destination check refused: the deliverer fails such a delivery at once.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(String);

#[derive(Debug, thiserror::Error)]
enum Unresolved {
    #[error("does not resolve ({0})")]
    Lookup(#[from] std::io::Error),
    #[error("does not resolve")]
    Nothing,
    #[error(transparent)]
    Refused(#[from] Refused),
}

async fn resolve_checked(host: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, Unresolved> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    if found.is_empty() {
        return Err(Unresolved::Nothing);
    }
    if let Some(bad) = found.iter().find(|a| !allow_private && !public(a.ip())) {
        return Err(Refused(refusal(bad.ip())).into());
    }
    Ok(found)
}

/// The HTTP client's resolver: refuses names with an address that is not public.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    pub allow_private: bool,
}

impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            match resolve_checked(name.as_str(), 0, allow_private).await {
                Ok(found) => Ok(Box::new(found.into_iter()) as Addrs),
                Err(Unresolved::Refused(refused)) => Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>),
                Err(other) => Err(Box::new(other) as Box<dyn std::error::Error + Send + Sync>),
            }
        })
    }
}

impl Guard {
    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }
}

/// Whether `ip` is publicly routable: not loopback, private, link-local, shared, reserved,
/// documentation, multicast or unspecified (IPv4 inside IPv6 is judged as IPv4).
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let first = ip.segments()[0];
    let nat64 = ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if nat64 {
        let [.., c, d] = ip.segments();
        return public_v4(Ipv4Addr::from((u32::from(c) << 16) | u32::from(d)));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || ip.segments()[..5] == [0, 0, 0, 0, 0]) // IPv4-compatible and other reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::",
        ] {
            assert!(!public(private.parse().expect("an address")), "{private}");
        }
        for open in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(public(open.parse().expect("an address")), "{open}");
        }
    }

    #[test]
    fn urls_are_http_and_literal_addresses_are_checked() {
        assert!(parse("https://hooks.example.com/crm", false).is_ok());
        assert!(parse("ftp://example.com/x", false).is_err());
        assert!(parse("not a url", false).is_err());
        assert!(parse("http://127.0.0.1:9000/hook", false).is_err());
        assert!(parse("http://[::1]:9000/hook", false).is_err());
        assert!(parse("http://169.254.169.254/latest/meta-data", false).is_err());
        assert!(parse("http://127.0.0.1:9000/hook", true).is_ok());
    }
}
