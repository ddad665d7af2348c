package main

import (
	"net"
	"net/netip"
)

// localAddr is an address of an interface that is up.
type localAddr struct {
	IP       netip.Addr
	Loopback bool // on a loopback interface (lo carries 127.0.0.1, and sometimes a public address)
}

// rtcAddresses picks the addresses the WebRTC port listens on, so that
// answers leave from the address a client sent to, which is the candidate
// it was told about. On 0.0.0.0 the kernel picks the source address, and on a
// machine with several addresses (two interfaces, a secondary IP, a client on
// the same host) it may pick another: the client then sees a peer-reflexive
// candidate and waits a second before it uses the path (every publisher's join
// took 1.0-1.1 s on loopback).
//
//   - node_ip on an interface of this machine (not lo): that address alone;
//   - node_ip 127.x (tests): that address, with its loopback candidates;
//   - node_ip elsewhere (NAT), or a public node_ip put on lo for hairpinning
//     (docs/deploy.md): 0.0.0.0, as the traffic arrives at a private address
//     and the candidates are rewritten to node_ip;
//   - no node_ip: every usable address (IPv4, neither loopback nor link-local),
//     each its own socket and candidate; none: 0.0.0.0.
func rtcAddresses(nodeIP string, local []localAddr) (addrs []string, loopback bool) {
	if nodeIP != "" {
		ip, err := netip.ParseAddr(nodeIP)
		if err != nil {
			return []string{"0.0.0.0"}, false
		}
		ip = ip.Unmap()
		for _, l := range local {
			if l.IP != ip {
				continue
			}
			if ip.IsLoopback() {
				return []string{ip.String()}, true
			}
			if !l.Loopback && ip.Is4() {
				return []string{ip.String()}, false
			}
		}
		return []string{"0.0.0.0"}, false
	}
	for _, l := range local {
		if l.IP.Is4() && !l.Loopback && !l.IP.IsLoopback() && !l.IP.IsLinkLocalUnicast() {
			addrs = append(addrs, l.IP.String())
		}
	}
	if len(addrs) == 0 {
		return []string{"0.0.0.0"}, false
	}
	return addrs, false
}

// localAddresses lists the addresses of the machine's interfaces that are up.
func localAddresses() []localAddr {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []localAddr
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, localAddr{IP: ip.Unmap(), Loopback: ifc.Flags&net.FlagLoopback != 0})
				}
			}
		}
	}
	return out
}
