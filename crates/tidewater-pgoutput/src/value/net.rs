//! `inet`, `cidr`, `macaddr` and `macaddr8`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{Fail, Reader, fixed};

/// `PGSQL_AF_INET`.
const FAMILY_INET: u8 = 2;
/// `PGSQL_AF_INET6` (`AF_INET + 1`, not the platform's `AF_INET6`).
const FAMILY_INET6: u8 = 3;

/// An address with a prefix length, the value of `inet` and `cidr`.
///
/// Decoded values always have `prefix <= max_prefix()`; for `cidr` the bits
/// to the right of the prefix are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// The address.
    pub addr: IpAddr,
    /// Number of network bits (netmask length).
    pub prefix: u8,
}

impl IpNet {
    /// A network, if `prefix` fits the address family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let net = IpNet { addr, prefix };
        (prefix <= net.max_prefix()).then_some(net)
    }

    /// 32 for IPv4, 128 for IPv6.
    pub fn max_prefix(&self) -> u8 {
        match self.addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    /// Whether every bit right of the prefix is zero (required for `cidr`).
    pub fn is_network(&self) -> bool {
        let bytes = addr_bytes(&self.addr);
        host_bits_zero(bytes.as_ref(), self.prefix)
    }

    /// PostgreSQL's `inet` output: the prefix is omitted when it is the full
    /// length (`192.168.0.1`, `10.0.0.0/8`, `::1`).
    pub fn to_inet_string(&self) -> String {
        let mut s = String::new();
        let _ = write_net(&mut s, self, false);
        s
    }

    /// PostgreSQL's `cidr` output: the prefix is always shown
    /// (`192.168.0.1/32`, `10.0.0.0/8`).
    pub fn to_cidr_string(&self) -> String {
        let mut s = String::new();
        let _ = write_net(&mut s, self, true);
        s
    }
}

impl fmt::Display for IpNet {
    /// Same as [`IpNet::to_inet_string`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_net(f, self, false)
    }
}

enum AddrBytes {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl AsRef<[u8]> for AddrBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            AddrBytes::V4(b) => b,
            AddrBytes::V6(b) => b,
        }
    }
}

fn addr_bytes(addr: &IpAddr) -> AddrBytes {
    match addr {
        IpAddr::V4(a) => AddrBytes::V4(a.octets()),
        IpAddr::V6(a) => AddrBytes::V6(a.octets()),
    }
}

fn host_bits_zero(bytes: &[u8], prefix: u8) -> bool {
    bytes.iter().enumerate().all(|(i, &b)| {
        let start = i * 8;
        let keep = usize::from(prefix).saturating_sub(start).min(8);
        let mask = if keep == 0 { 0 } else { 0xFFu8 << (8 - keep) };
        b & !mask == 0
    })
}

/// Writes as `pg_inet_net_ntop` plus `network_out` do.
pub(crate) fn write_net<W: fmt::Write>(w: &mut W, net: &IpNet, cidr: bool) -> fmt::Result {
    match net.addr {
        IpAddr::V4(a) => {
            let [b0, b1, b2, b3] = a.octets();
            write!(w, "{b0}.{b1}.{b2}.{b3}")?;
        }
        IpAddr::V6(a) => write_ipv6(w, &a)?,
    }
    if cidr || net.prefix != net.max_prefix() {
        write!(w, "/{}", net.prefix)?;
    }
    Ok(())
}

/// IPv6 text as PostgreSQL (BIND's `inet_ntop6`) prints it: the first longest
/// run of two or more zero groups becomes `::`, and addresses whose first 96
/// bits are zero (other than `::` and `::1`-like ones) or IPv4-mapped print the
/// last 32 bits as dotted quad.
fn write_ipv6<W: fmt::Write>(w: &mut W, a: &Ipv6Addr) -> fmt::Result {
    let words = a.segments();
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    for (i, &word) in words.iter().enumerate() {
        if word == 0 {
            cur = Some(match cur {
                Some((base, len)) => (base, len + 1),
                None => (i, 1),
            });
        } else if let Some(c) = cur.take()
            && best.is_none_or(|b| c.1 > b.1)
        {
            best = Some(c);
        }
    }
    if let Some(c) = cur
        && best.is_none_or(|b| c.1 > b.1)
    {
        best = Some(c);
    }
    let best = best.filter(|b| b.1 >= 2);
    for (i, &word) in words.iter().enumerate() {
        if let Some((base, len)) = best
            && i >= base
            && i < base + len
        {
            if i == base {
                w.write_char(':')?;
            }
            continue;
        }
        if i != 0 {
            w.write_char(':')?;
        }
        let embedded_v4 = matches!(best, Some((0, 6)))
            || (matches!(best, Some((0, 5))) && words.get(5) == Some(&0xffff));
        if i == 6 && embedded_v4 {
            let o = a.octets();
            let [.., b12, b13, b14, b15] = o;
            return write!(w, "{b12}.{b13}.{b14}.{b15}");
        }
        write!(w, "{word:x}")?;
    }
    if let Some((base, len)) = best
        && base + len == 8
    {
        w.write_char(':')?;
    }
    Ok(())
}

/// `inet`/`cidr` text.
pub(crate) fn decode_text(text: &str, cidr: bool) -> Result<IpNet, Fail> {
    let (addr_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr = if addr_text.contains(':') {
        IpAddr::V6(
            addr_text
                .parse::<Ipv6Addr>()
                .map_err(|_| Fail::Msg("invalid IPv6 address"))?,
        )
    } else {
        IpAddr::V4(
            addr_text
                .parse::<Ipv4Addr>()
                .map_err(|_| Fail::Msg("invalid IPv4 address"))?,
        )
    };
    let max = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let prefix = match prefix_text {
        None => max,
        Some(p) => {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
                return Err(Fail::Msg("invalid prefix length"));
            }
            p.parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or(Fail::Msg("prefix length too large for the address family"))?
        }
    };
    let net = IpNet { addr, prefix };
    if cidr && !net.is_network() {
        return Err(Fail::Msg(
            "cidr value has bits set to the right of the mask",
        ));
    }
    Ok(net)
}

/// `inet`/`cidr` binary: family, bits, is_cidr, nb, address.
pub(crate) fn decode_binary(raw: &[u8], cidr: bool) -> Result<IpNet, Fail> {
    let mut r = Reader::new(raw);
    let (Some(family), Some(bits), Some(_is_cidr), Some(nb)) = (r.u8(), r.u8(), r.u8(), r.u8())
    else {
        return Err(Fail::Text(format!(
            "header needs 4 bytes, {} available",
            raw.len()
        )));
    };
    let (want, max) = match family {
        FAMILY_INET => (4, 32),
        FAMILY_INET6 => (16, 128),
        other => return Err(Fail::Text(format!("invalid address family {other}"))),
    };
    if nb != want {
        return Err(Fail::Text(format!(
            "address length {nb} does not match family {family}"
        )));
    }
    if r.remaining() != usize::from(nb) {
        return Err(Fail::Text(format!(
            "address needs {nb} bytes, {} remain",
            r.remaining()
        )));
    }
    if bits > max {
        return Err(Fail::Text(format!("prefix length {bits} exceeds {max}")));
    }
    let addr = if family == FAMILY_INET {
        IpAddr::V4(Ipv4Addr::from(fixed::<4>(r.rest())?))
    } else {
        IpAddr::V6(Ipv6Addr::from(fixed::<16>(r.rest())?))
    };
    let net = IpNet { addr, prefix: bits };
    if cidr && !net.is_network() {
        return Err(Fail::Msg(
            "cidr value has bits set to the right of the mask",
        ));
    }
    Ok(net)
}

/// Appends the binary form.
pub(crate) fn encode_binary(net: &IpNet, cidr: bool, out: &mut Vec<u8>) {
    let bytes = addr_bytes(&net.addr);
    let bytes = bytes.as_ref();
    let family = if bytes.len() == 4 {
        FAMILY_INET
    } else {
        FAMILY_INET6
    };
    out.extend_from_slice(&[family, net.prefix, u8::from(cidr), bytes.len() as u8]);
    out.extend_from_slice(bytes);
}

/// `macaddr`/`macaddr8` text: hex pairs separated by `:` (or `-`).
pub(crate) fn decode_mac_text<const N: usize>(text: &[u8]) -> Result<[u8; N], Fail> {
    let mut out = [0u8; N];
    let mut parts = text.split(|&c| c == b':' || c == b'-');
    for byte in out.iter_mut() {
        let part = parts.next().ok_or(Fail::Msg("too few hex pairs"))?;
        let [hi, lo] =
            <[u8; 2]>::try_from(part).map_err(|_| Fail::Msg("expected two hex digits per byte"))?;
        *byte = hex_pair(hi, lo).ok_or(Fail::Msg("invalid hex digit"))?;
    }
    if parts.next().is_some() {
        return Err(Fail::Msg("too many hex pairs"));
    }
    Ok(out)
}

/// Writes `08:00:2b:01:02:03`.
pub(crate) fn write_mac<W: fmt::Write>(w: &mut W, bytes: &[u8]) -> fmt::Result {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            w.write_char(':')?;
        }
        write!(w, "{b:02x}")?;
    }
    Ok(())
}

/// Value of one hex digit.
pub(crate) fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Value of two hex digits.
pub(crate) fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    Some(hex_digit(hi)? << 4 | hex_digit(lo)?)
}

#[cfg(test)]
mod tests {
    // Tests unwrap known-good fixtures.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    fn inet(s: &str) -> IpNet {
        decode_text(s, false).unwrap()
    }

    #[test]
    fn inet_text_round_trip() {
        for s in [
            "192.168.0.1/24",
            "192.168.0.1",
            "0.0.0.0/0",
            "::1",
            "::",
            "::/0",
            "fe80::1/64",
            "2001:db8::",
            "1:0:0:1::1",
            "1::2:0:0:3",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "::ffff:0.0.0.0",
            "1:2:3:4:5:6:7:8",
            "2001:db8:0:0:1::/96",
            "0:0:1::",
        ] {
            let n = inet(s);
            assert_eq!(n.to_inet_string(), s, "{s}");
        }
        assert_eq!(inet("192.168.0.1").prefix, 32);
        assert_eq!(inet("::1").prefix, 128);
        assert_eq!(inet("10.0.0.0/8").to_cidr_string(), "10.0.0.0/8");
        assert_eq!(inet("10.1.2.3").to_cidr_string(), "10.1.2.3/32");
        // First longest run wins, single zero groups are not compressed.
        assert_eq!(inet("1:0:0:2:0:0:3:4").to_string(), "1::2:0:0:3:4");
        assert_eq!(inet("1:0:2:3:4:5:6:7").to_string(), "1:0:2:3:4:5:6:7");
        assert_eq!(inet("::0.0.1.0").to_string(), "::100");
    }

    #[test]
    fn bad_text() {
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4/33",
            "::1/129",
            "1.2.3.4/",
            "1.2.3.4/-1",
            "1.2.3.04",
            "x::",
            "1.2.3.4/8/8",
        ] {
            assert!(decode_text(bad, false).is_err(), "{bad:?}");
        }
        assert!(decode_text("192.168.0.1/24", true).is_err());
        assert!(decode_text("192.168.0.0/24", true).is_ok());
    }

    #[test]
    fn binary() {
        let raw = [2, 24, 0, 4, 192, 168, 0, 1];
        let n = decode_binary(&raw, false).unwrap();
        assert_eq!(n.to_string(), "192.168.0.1/24");
        let mut out = Vec::new();
        encode_binary(&n, false, &mut out);
        assert_eq!(out, raw);
        let mut raw6 = vec![3, 128, 1, 16];
        raw6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        assert_eq!(
            decode_binary(&raw6, true).unwrap().to_cidr_string(),
            "::1/128"
        );
        for bad in [
            &[2, 24, 0, 4, 1, 2, 3][..],
            &[2, 33, 0, 4, 1, 2, 3, 4],
            &[10, 8, 0, 4, 1, 2, 3, 4],
            &[2, 8, 0, 16, 1, 2, 3, 4],
            &[],
            &[2, 32, 0, 4, 1, 2, 3, 4, 5],
        ] {
            assert!(decode_binary(bad, false).is_err(), "{bad:?}");
        }
        assert!(decode_binary(&[2, 8, 1, 4, 10, 0, 0, 1], true).is_err());
    }

    #[test]
    fn mac() {
        assert_eq!(
            decode_mac_text::<6>(b"08:00:2b:01:02:03").unwrap(),
            [8, 0, 0x2b, 1, 2, 3]
        );
        assert_eq!(
            decode_mac_text::<6>(b"08-00-2B-01-02-03").unwrap(),
            [8, 0, 0x2b, 1, 2, 3]
        );
        assert_eq!(
            decode_mac_text::<8>(b"08:00:2b:01:02:03:04:05").unwrap()[7],
            5
        );
        for bad in [
            "",
            "08:00:2b:01:02",
            "08:00:2b:01:02:03:04",
            "0800:2b:01:02:03",
            "08:00:2b:01:02:0g",
        ] {
            assert!(decode_mac_text::<6>(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let mut s = String::new();
        write_mac(&mut s, &[8, 0, 0x2b, 1, 2, 3]).unwrap();
        assert_eq!(s, "08:00:2b:01:02:03");
    }
}
