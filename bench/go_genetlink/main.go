// Command go_genetlink is the benchmark's Go implementation, for bench/run.py:
// mdlayher/genetlink over mdlayher/netlink, every reply decoded with
// netlink.AttributeDecoder into structs, as c_libnl.c copies the same fields
// out of each message with libnl.
//
//	go_genetlink WORKLOAD ITERATIONS [WARMUP [PAIRS]]
//
// WORKLOAD is dump_families (W1), getfamily (W2), open_resolve_close (W3),
// linkinfo_dump (W5), netdev_notify (W6, ITERATIONS are cycles of PAIRS veth
// pairs), threads_shared or threads_own (W8: W2 from 4 goroutines on one Conn
// or on a Conn each; ITERATIONS counts the requests of all of them).
//
// It prints one line of JSON like c_libnl: {"workload", "iterations",
// "seconds", "us_per_op", "check"} ("ops" too for W6, "threads" for W8). The
// timed part runs in 10 equal chunks and us_per_op is the median chunk's, the
// statistic every implementation reports.
//
// Built by run.py offline against Debian's packaged sources
// (golang-github-mdlayher-genetlink-dev) in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o OUT ./go_genetlink
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

const (
	chunks  = 10
	threads = 4 // W8, as benchlib.THREADS and c_libnl.c's W8_THREADS

	// include/uapi/linux/ethtool_netlink.h
	ethtoolMsgLinkinfoGet     = 2
	ethtoolALinkinfoHeader    = 1
	ethtoolALinkinfoPort      = 2
	ethtoolALinkinfoPhyaddr   = 3
	ethtoolALinkinfoTpMdix    = 4
	ethtoolALinkinfoTpMdixCtl = 5
	ethtoolALinkinfoXcvr      = 6
	ethtoolAHeaderDevIndex    = 1
	ethtoolAHeaderDevName     = 2
	ethtoolGenlVersion        = 1

	// include/uapi/linux/netdev.h (c_libnl.c's W6_* values)
	netdevADevIfindex  = 1
	netdevADevPad      = 2
	netdevADevMax      = 6
	netdevDevAddNtf    = 2
	netdevDevDelNtf    = 3
	netdevDevChangeNtf = 4
	w6Group            = 6 // the veth pairs' ip link group (benchlib.W6_GROUP)
	notifyRcvbuf       = 4 << 20
)

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "go_genetlink: %s: %v\n", what, err)
	os.Exit(1)
}

// -- W1, W2, W3: nlctrl -------------------------------------------------------

type op struct{ id, flags uint32 }
type group struct {
	name string
	id   uint32
}
type family struct {
	id      uint16
	name    string
	version uint32
	ops     []op
	groups  []group
}

// parseFamily copies what c_libnl.c's parse_family copies: a family without
// an id or a name is skipped (ok false), as are operations without an id and
// groups without a name or an id.
func parseFamily(b []byte) (f family, ok bool, err error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return f, false, err
	}
	var hasID, hasName bool
	for ad.Next() {
		switch ad.Type() {
		case unix.CTRL_ATTR_FAMILY_ID:
			f.id = ad.Uint16()
			hasID = true
		case unix.CTRL_ATTR_FAMILY_NAME:
			f.name = ad.String()
			hasName = true
		case unix.CTRL_ATTR_VERSION:
			f.version = ad.Uint32()
		case unix.CTRL_ATTR_OPS:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					list.Nested(func(nad *netlink.AttributeDecoder) error {
						var o op
						var has bool
						for nad.Next() {
							switch nad.Type() {
							case unix.CTRL_ATTR_OP_ID:
								o.id = nad.Uint32()
								has = true
							case unix.CTRL_ATTR_OP_FLAGS:
								o.flags = nad.Uint32()
							}
						}
						if has {
							f.ops = append(f.ops, o)
						}
						return nil
					})
				}
				return nil
			})
		case unix.CTRL_ATTR_MCAST_GROUPS:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					list.Nested(func(nad *netlink.AttributeDecoder) error {
						var g group
						var hasGName, hasGID bool
						for nad.Next() {
							switch nad.Type() {
							case unix.CTRL_ATTR_MCAST_GRP_NAME:
								g.name = nad.String()
								hasGName = true
							case unix.CTRL_ATTR_MCAST_GRP_ID:
								g.id = nad.Uint32()
								hasGID = true
							}
						}
						if hasGName && hasGID {
							f.groups = append(f.groups, g)
						}
						return nil
					})
				}
				return nil
			})
		}
	}
	return f, hasID && hasName, ad.Err()
}

func parseFamilies(msgs []genetlink.Message) []family {
	out := make([]family, 0, len(msgs))
	for _, m := range msgs {
		f, ok, err := parseFamily(m.Data)
		if err != nil {
			die("decoding a family", err)
		}
		if ok {
			out = append(out, f)
		}
	}
	return out
}

func familiesCheck(fams []family) map[string]int {
	var ops, groups, ids int
	for _, f := range fams {
		ops += len(f.ops)
		groups += len(f.groups)
		ids += int(f.id)
	}
	return map[string]int{"families": len(fams), "ops": ops, "groups": groups, "id_sum": ids}
}

func dial() *genetlink.Conn {
	c, err := genetlink.Dial(nil)
	if err != nil {
		die("genetlink.Dial", err)
	}
	return c
}

// W1: one CTRL_CMD_GETFAMILY dump (no ACK: the kernel sends none after
// NLMSG_DONE), every family decoded.
func dumpFamilies(c *genetlink.Conn) []family {
	req := genetlink.Message{Header: genetlink.Header{Command: unix.CTRL_CMD_GETFAMILY, Version: 2}}
	msgs, err := c.Execute(req, unix.GENL_ID_CTRL, netlink.Request|netlink.Dump)
	if err != nil {
		die("execute (dump)", err)
	}
	return parseFamilies(msgs)
}

// W2: GETFAMILY for nlctrl with its attributes encoded per request. It asks
// for the ACK and reads it, as libnl's auto-ACK and libnl_py do, so that
// every implementation makes the same exchange (mdlayher's own GetFamily asks
// for none). Execute returns at the reply; the ACK is the next datagram.
func getfamily(c *genetlink.Conn) []family {
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.CTRL_ATTR_FAMILY_NAME, "nlctrl")
	b, err := ae.Encode()
	if err != nil {
		die("encode", err)
	}
	req := genetlink.Message{Header: genetlink.Header{Command: unix.CTRL_CMD_GETFAMILY, Version: 2}, Data: b}
	msgs, err := c.Execute(req, unix.GENL_ID_CTRL, netlink.Request|netlink.Acknowledge)
	if err != nil {
		die("execute", err)
	}
	_, acks, err := c.Receive()
	if err != nil {
		die("receive (ACK)", err)
	}
	if len(acks) != 1 || acks[0].Header.Type != netlink.Error {
		die("receive (ACK)", fmt.Errorf("expected one ACK, got %+v", acks))
	}
	return parseFamilies(msgs)
}

// W3: a fresh Conn, mdlayher's GetFamily (its resolve), Close.
func openResolveClose() int {
	c := dial()
	f, err := c.GetFamily("nlctrl")
	if err != nil {
		die("GetFamily", err)
	}
	if err := c.Close(); err != nil {
		die("Close", err)
	}
	return int(f.ID)
}

// -- W5: ethtool linkinfo dump ------------------------------------------------

type linkinfo struct {
	ifindex                                        uint32
	name                                           string
	port, phyaddr, tpMdix, tpMdixCtrl, transceiver uint8
}

func parseLinkinfo(b []byte) (linkinfo, error) {
	var l linkinfo
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return l, err
	}
	for ad.Next() {
		switch ad.Type() {
		case ethtoolALinkinfoHeader:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					switch nad.Type() {
					case ethtoolAHeaderDevIndex:
						l.ifindex = nad.Uint32()
					case ethtoolAHeaderDevName:
						l.name = nad.String()
					}
				}
				return nil
			})
		case ethtoolALinkinfoPort:
			l.port = ad.Uint8()
		case ethtoolALinkinfoPhyaddr:
			l.phyaddr = ad.Uint8()
		case ethtoolALinkinfoTpMdix:
			l.tpMdix = ad.Uint8()
		case ethtoolALinkinfoTpMdixCtl:
			l.tpMdixCtrl = ad.Uint8()
		case ethtoolALinkinfoXcvr:
			l.transceiver = ad.Uint8()
		}
	}
	return l, ad.Err()
}

// linkinfoRequest is the dump request: an empty header nest (every device),
// as the other implementations send {"header": {}}.
func linkinfoRequest() genetlink.Message {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(ethtoolALinkinfoHeader, func(*netlink.AttributeEncoder) error { return nil })
	b, err := ae.Encode()
	if err != nil {
		die("encode", err)
	}
	return genetlink.Message{
		Header: genetlink.Header{Command: ethtoolMsgLinkinfoGet, Version: ethtoolGenlVersion},
		Data:   b,
	}
}

func linkinfoDump(c *genetlink.Conn, id uint16) []linkinfo {
	msgs, err := c.Execute(linkinfoRequest(), id, netlink.Request|netlink.Dump)
	if err != nil {
		die("execute (linkinfo dump)", err)
	}
	links := make([]linkinfo, 0, len(msgs))
	for _, m := range msgs {
		l, err := parseLinkinfo(m.Data)
		if err != nil {
			die("decoding linkinfo", err)
		}
		links = append(links, l)
	}
	return links
}

func linksCheck(links []linkinfo) map[string]int {
	var ifindexes, nameBytes, fields int
	for _, l := range links {
		ifindexes += int(l.ifindex)
		nameBytes += len(l.name)
		fields += int(l.port) + int(l.phyaddr) + int(l.tpMdix) + int(l.tpMdixCtrl) + int(l.transceiver)
	}
	return map[string]int{
		"messages": len(links), "ifindex_sum": ifindexes, "name_bytes": nameBytes, "field_sum": fields,
	}
}

// -- W6: netdev notifications -------------------------------------------------

type netdevDev struct {
	cmd                                             uint8
	ifindex, xdpZcMaxSegs                           uint32
	xdpFeatures, xdpRxMetadataFeatures, xskFeatures uint64
	attrs                                           int
}

func parseNetdev(m genetlink.Message) (netdevDev, error) {
	d := netdevDev{cmd: m.Header.Command}
	ad, err := netlink.NewAttributeDecoder(m.Data)
	if err != nil {
		return d, err
	}
	var seen [netdevADevMax + 1]bool
	for ad.Next() {
		t := ad.Type()
		switch t {
		case netdevADevIfindex:
			d.ifindex = ad.Uint32()
		case 3:
			d.xdpFeatures = ad.Uint64()
		case 4:
			d.xdpZcMaxSegs = ad.Uint32()
		case 5:
			d.xdpRxMetadataFeatures = ad.Uint64()
		case 6:
			d.xskFeatures = ad.Uint64()
		}
		if t >= 1 && t <= netdevADevMax && t != netdevADevPad {
			seen[t] = true
		}
	}
	for _, s := range seen {
		if s {
			d.attrs++
		}
	}
	return d, ad.Err()
}

// ready reports whether a datagram is queued: mdlayher's Receive blocks, and
// a read deadline already past fails before reading, so the drain asks
// poll(2) first, with no timeout, as C's non-blocking nl_recvmsgs ends at
// -NLE_AGAIN.
func ready(raw interface {
	Control(func(fd uintptr)) error
}) bool {
	var n int
	var perr error
	if err := raw.Control(func(fd uintptr) {
		for {
			n, perr = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			if perr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		die("SyscallConn.Control", err)
	}
	if perr != nil {
		die("poll", perr)
	}
	return n > 0
}

func drain(c *genetlink.Conn, raw interface{ Control(func(fd uintptr)) error }) []netdevDev {
	var got []netdevDev
	for ready(raw) {
		msgs, _, err := c.Receive()
		if err != nil {
			die("receive (notifications)", err)
		}
		for _, m := range msgs {
			d, err := parseNetdev(m)
			if err != nil {
				die("decoding a notification", err)
			}
			got = append(got, d)
		}
	}
	return got
}

func ipBatch(pairs int) {
	var b strings.Builder
	pid := os.Getpid()
	for i := 0; i < pairs; i++ {
		fmt.Fprintf(&b, "link add w6%da%d group %d type veth peer name w6%db%d\n", pid, i, w6Group, pid, i)
	}
	cmd := exec.Command("ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		die("ip -batch", err)
	}
}

func ipDeleteGroup() {
	cmd := exec.Command("ip", "link", "delete", "group", strconv.Itoa(w6Group))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		die("ip link delete group", err)
	}
}

// notifyCycle creates and deletes pairs veth pairs (untimed) and times the
// drains of what each step queued.
func notifyCycle(c *genetlink.Conn, raw interface{ Control(func(fd uintptr)) error }, pairs int) (time.Duration, []netdevDev) {
	ipBatch(pairs)
	t0 := time.Now()
	added := drain(c, raw)
	t1 := time.Now()
	ipDeleteGroup()
	t2 := time.Now()
	deleted := drain(c, raw)
	t3 := time.Now()
	return t1.Sub(t0) + t3.Sub(t2), append(added, deleted...)
}

func notesCheck(got []netdevDev) map[string]int {
	check := map[string]int{"notifications": len(got), "dev-add-ntf": 0, "dev-del-ntf": 0, "dev-change-ntf": 0, "attrs": 0}
	for _, d := range got {
		switch d.cmd {
		case netdevDevAddNtf:
			check["dev-add-ntf"]++
		case netdevDevDelNtf:
			check["dev-del-ntf"]++
		case netdevDevChangeNtf:
			check["dev-change-ntf"]++
		}
		check["attrs"] += d.attrs
	}
	return check
}

func runNetdevNotify(chunk, warmup, pairs int) map[string]interface{} {
	c := dial()
	defer c.Close()
	// 4 MiB like the other implementations (the kernel caps it at net.core.rmem_max).
	if err := c.SetReadBuffer(notifyRcvbuf); err != nil {
		die("SetReadBuffer", err)
	}
	fam, err := c.GetFamily("netdev")
	if err != nil {
		die("GetFamily netdev", err)
	}
	var mgmt uint32
	for _, g := range fam.Groups {
		if g.Name == "mgmt" {
			mgmt = g.ID
		}
	}
	if mgmt == 0 {
		die("netdev", errors.New("no mgmt group"))
	}
	if err := c.JoinGroup(mgmt); err != nil {
		die("JoinGroup", err)
	}
	raw, err := c.SyscallConn()
	if err != nil {
		die("SyscallConn", err)
	}
	for i := 0; i < warmup; i++ {
		notifyCycle(c, raw, pairs)
	}
	var seconds float64
	var ops int
	var last []netdevDev
	perOp := make([]float64, 0, chunks)
	for ch := 0; ch < chunks; ch++ {
		var timed time.Duration
		count := 0
		for i := 0; i < chunk; i++ {
			d, got := notifyCycle(c, raw, pairs)
			timed += d
			count += len(got)
			last = got
		}
		if count == 0 {
			die("netdev_notify", errors.New("no notification received"))
		}
		seconds += timed.Seconds()
		ops += count
		perOp = append(perOp, timed.Seconds()/float64(count)*1e6)
	}
	return map[string]interface{}{
		"workload": "netdev_notify", "iterations": chunk * chunks, "ops": ops,
		"seconds": seconds, "us_per_op": median(perOp), "check": notesCheck(last),
	}
}

// -- W8: W2 from 4 goroutines -------------------------------------------------

// threadsRound runs perThread W2 requests in each of 4 goroutines. mdlayher's
// Execute holds the Conn's lock for a request and its reply, but the ACK is
// read by a second call (Receive), so on a shared Conn a mutex covers both,
// as c_libnl.c's W8 does; with a Conn each nothing is shared.
func threadsRound(conns []*genetlink.Conn, lock *sync.Mutex, perThread int, results [][]family) {
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			c := conns[t%len(conns)]
			for i := 0; i < perThread; i++ {
				if lock != nil {
					lock.Lock()
					results[t] = getfamily(c)
					lock.Unlock()
				} else {
					results[t] = getfamily(c)
				}
			}
		}(t)
	}
	wg.Wait()
}

// -- timing and output --------------------------------------------------------

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// timeChunks runs work(chunk) warmup-first, then chunks times, each timed;
// ops is the operations one call of work(chunk) makes.
func timeChunks(chunk, warmup, ops int, work func(n int)) (seconds, usPerOp float64) {
	if warmup > 0 {
		work(warmup)
	}
	perOp := make([]float64, 0, chunks)
	for ch := 0; ch < chunks; ch++ {
		t0 := time.Now()
		work(chunk)
		d := time.Since(t0).Seconds()
		seconds += d
		perOp = append(perOp, d/float64(ops)*1e6)
	}
	return seconds, median(perOp)
}

func main() {
	usage := "usage: go_genetlink dump_families|getfamily|open_resolve_close|linkinfo_dump|" +
		"netdev_notify|threads_shared|threads_own ITERATIONS [WARMUP [PAIRS]]"
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	workload := os.Args[1]
	iterations, err := strconv.Atoi(os.Args[2])
	if err != nil || iterations <= 0 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	warmup := iterations/10 + 1
	if len(os.Args) > 3 {
		if warmup, err = strconv.Atoi(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
	}
	pairs := 100
	if len(os.Args) > 4 {
		if pairs, err = strconv.Atoi(os.Args[4]); err != nil {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
	}
	chunk := iterations / chunks
	if chunk < 1 {
		chunk = 1
	}

	var out map[string]interface{}
	var seconds, us float64
	switch workload {
	case "dump_families", "getfamily":
		c := dial()
		fn := dumpFamilies
		if workload == "getfamily" {
			fn = getfamily
		}
		var last []family
		seconds, us = timeChunks(chunk, warmup, chunk, func(n int) {
			for i := 0; i < n; i++ {
				last = fn(c)
			}
		})
		c.Close()
		out = map[string]interface{}{"check": familiesCheck(last)}
	case "open_resolve_close":
		id := 0
		seconds, us = timeChunks(chunk, warmup, chunk, func(n int) {
			for i := 0; i < n; i++ {
				id = openResolveClose()
			}
		})
		out = map[string]interface{}{"check": map[string]int{"families": 1, "ops": 0, "groups": 0, "id_sum": id}}
	case "linkinfo_dump":
		c := dial()
		fam, err := c.GetFamily("ethtool")
		if err != nil {
			die("GetFamily ethtool", err)
		}
		var last []linkinfo
		seconds, us = timeChunks(chunk, warmup, chunk, func(n int) {
			for i := 0; i < n; i++ {
				last = linkinfoDump(c, fam.ID)
			}
		})
		c.Close()
		out = map[string]interface{}{"check": linksCheck(last)}
	case "netdev_notify":
		out = runNetdevNotify(chunk, warmup, pairs)
	case "threads_shared", "threads_own":
		conns := []*genetlink.Conn{dial()}
		var lock *sync.Mutex
		if workload == "threads_shared" {
			lock = &sync.Mutex{}
		} else {
			for len(conns) < threads {
				conns = append(conns, dial())
			}
		}
		results := make([][]family, threads)
		perThread := chunk / threads
		if perThread < 1 {
			perThread = 1
		}
		w := warmup / threads
		if w < 1 {
			w = 1
		}
		threadsRound(conns, lock, w, results)
		seconds, us = timeChunks(perThread, 0, perThread*threads, func(n int) {
			threadsRound(conns, lock, n, results)
		})
		for _, c := range conns {
			c.Close()
		}
		out = map[string]interface{}{"threads": threads, "check": familiesCheck(results[0])}
		chunk = perThread * threads
	default:
		fmt.Fprintf(os.Stderr, "go_genetlink: unknown workload %s\n%s\n", workload, usage)
		os.Exit(2)
	}
	if _, ok := out["workload"]; !ok {
		out["workload"] = workload
		out["iterations"] = chunk * chunks
		out["seconds"] = seconds
		out["us_per_op"] = us
	}
	line, err := json.Marshal(out)
	if err != nil {
		die("json", err)
	}
	fmt.Println(string(line))
}
