#!/bin/bash
# Records tests/data/vswitchd/tnl_appctl_ovs31.txt from a real Open vSwitch 3.1 (run as root, from the checkout):
#   bash tests/data/vswitchd/tnl_appctl_capture.sh > tests/data/vswitchd/tnl_appctl_ovs31.txt
# A network namespace with fixed devices and routes (no random link-local addresses) holds ovs-vswitchd with the
# dummy datapath and real tunnel vports (--enable-dummy without =override, so that routes are followed).
# tests/vswitchd/test_tnlctl.py replays the commands against pyvswitch with the same kernel state.
set -eu
NS=pvB-cap; DIR=/tmp/pvB-cap
N="ip netns exec $NS"
cleanup() {
  for p in ovs-vswitchd ovsdb-server; do [ -f $DIR/$p.pid ] && kill "$(cat $DIR/$p.pid)" 2>/dev/null || true; done
  sleep 0.5; ip netns del $NS 2>/dev/null || true; rm -rf $DIR
}
cleanup; trap cleanup EXIT
ip netns add $NS
$N ip link set lo up
$N ip link add pvBa address 02:fc:00:00:00:01 type veth peer name pvBb address 02:fc:00:00:00:02
$N ip link set pvBa addrgenmode none; $N ip link set pvBb addrgenmode none
$N ip link set pvBa up; $N ip link set pvBb up
$N ip addr add 192.0.2.2/24 dev pvBa
$N ip addr add 192.0.2.9/24 dev pvBa
$N ip -6 addr add fd00::2/64 dev pvBa nodad
$N ip route add default via 192.0.2.1
$N ip route add 10.9.0.0/16 via 192.0.2.7 src 192.0.2.9
$N ip route add 10.8.0.0/16 dev pvBa
$N ip -6 route add default via fd00::1
mkdir -p $DIR; export OVS_RUNDIR=$DIR OVS_DBDIR=$DIR OVS_LOGDIR=$DIR OVS_SYSCONFDIR=$DIR
ovsdb-tool create $DIR/conf.db /usr/share/openvswitch/vswitch.ovsschema
$N ovsdb-server $DIR/conf.db --remote=punix:$DIR/db.sock --pidfile=$DIR/ovsdb-server.pid --detach --log-file=$DIR/db.log
$N ovs-vsctl --no-wait init
$N ovs-vswitchd --enable-dummy --disable-system unix:$DIR/db.sock --pidfile=$DIR/ovs-vswitchd.pid --detach \
  --log-file=$DIR/vswitchd.log
$N ovs-vsctl add-br br0 -- set bridge br0 datapath_type=dummy other-config:hwaddr=aa:55:aa:55:00:00 \
  -- add-port br0 p1 -- set interface p1 type=dummy ofport_request=1
$N ovs-vsctl add-br int-br -- set bridge int-br datapath_type=dummy \
  -- add-port int-br t2 -- set interface t2 type=vxlan options:remote_ip=1.1.2.92 options:key=456 ofport_request=2 \
  -- add-port int-br t1 -- set interface t1 type=gre options:remote_ip=1.1.2.92 options:key=456 ofport_request=3 \
  -- add-port int-br t3 -- set interface t3 type=vxlan options:remote_ip=1.1.2.93 options:out_key=flow options:csum=true ofport_request=4 \
  -- add-port int-br t4 -- set interface t4 type=geneve options:remote_ip=flow options:key=123 ofport_request=5 \
  -- add-port int-br t6 -- set interface t6 type=vxlan options:remote_ip=1.1.2.92 options:key=789 options:dst_port=4790 ofport_request=7
sleep 1
echo "# Recorded by tests/data/vswitchd/tnl_appctl_capture.sh from $(ovs-vswitchd --version | head -1)."
echo "# '\$ ARGS' is an ovs-appctl command, followed by its output; '! TEXT' is the error it answered."
run() {
  echo "\$ $*"
  local out err rc=0
  out=$($N ovs-appctl "$@" 2>$DIR/err) || rc=$?
  if [ $rc = 0 ]; then printf '%s\n' "$out"; else grep -v '^ovs-appctl: ' $DIR/err | sed 's/^/! /'; fi
}
run ovs/route/show
run tnl/ports/show
run ovs/route/lookup 192.0.2.5
run ovs/route/lookup 8.8.8.8
run ovs/route/lookup 10.9.1.1
run ovs/route/lookup fd00::77
run ovs/route/lookup 2001:db8::1
run ovs/route/lookup 127.0.0.5
run ovs/route/lookup 1.2.3.4/24
run ovs/route/lookup foo
run ovs/route/lookup 8.8.8.8 pkt_mark=3
run ovs/route/lookup 8.8.8.8 pkt_mark=x
run netdev-dummy/ip4addr nodev 1.1.1.1/24
run netdev-dummy/ip4addr br0 foo
run netdev-dummy/ip4addr br0 1.1.1.1/33
run netdev-dummy/ip4addr br0 2001::1/64
run netdev-dummy/ip6addr br0 1.1.1.1/24
run netdev-dummy/ip6addr br0 2001::1/129
run netdev-dummy/ip6addr nodev 2001::1/64
run netdev-dummy/ip4addr br0 1.1.3.88/24
run ovs/route/add 1.1.9.0/24 br0 1.1.3.1 pkt_mark=5
run netdev-dummy/ip4addr br0 1.1.2.88/24
run netdev-dummy/ip6addr br0 2001:db8::88/64
run ovs/route/add 1.1.2.92/24 br0
run ovs/route/add 1.1.10.0/24 br0
run ovs/route/add 1.1.11.0/24 nodev
run ovs/route/add 1.1.20.0/24 br0 1.1.2.1
run ovs/route/add 1.1.20.0/24 br0 1.1.2.2
run ovs/route/add 1.1.2.77/32 br0
run ovs/route/add 0.0.0.0/0 br0 1.1.2.1 pkt_mark=9
run ovs/route/add 2001:db8:5::/48 br0 2001:db8::1
run ovs/route/add 2001:db8:6::/48 br0 bogus
run ovs/route/add 1.1.14.0/33 br0
run ovs/route/add foo br0
run ovs/route/add 1.1.16.0/24 br0 1.1.2.1 pkt_mark=x
run ovs/route/add 1.1.17.0/24 br0 bogus
run ovs/route/add 1.1.18.0/24 br0 2001:db8::1
run ovs/route/add 1.1.21.0/24 br0 1.1.2.1 1.1.2.5
run ovs/route/add 1.1.21.0/24
run ovs/route/show
run tnl/ports/show -v
run ovs/route/lookup 1.1.2.92
run ovs/route/lookup 1.1.9.3
run ovs/route/lookup 1.1.9.3 pkt_mark=5
run ovs/route/lookup 1.1.20.4
run ovs/route/lookup 99.1.1.1 pkt_mark=9
run ovs/route/lookup 99.1.1.1 pkt_mark=7
run ovs/route/lookup 2001:db8:5::1
run ovs/route/del 1.1.9.0/24
run ovs/route/del 1.1.9.0/24 pkt_mark=5
run ovs/route/del 1.1.9.0/24 pkt_mark=5
run ovs/route/del 192.0.2.0/24
run ovs/route/del foo
run ovs/route/del 1.1.2.0/24 pkt_mark=x
run ovs/route/del 1.1.2.77/32
run ovs/route/show
run tnl/ports/show
run tnl/ports/show -v
run tnl/ports/show -x
run tnl/neigh/show
run tnl/neigh/set br0 1.1.2.92 f8:bc:12:44:34:b6
run tnl/neigh/set br0 2001:db8::92 f8:bc:12:44:34:b7
run tnl/arp/set int-br 1.1.2.93 0:1:2:3:4:5
run tnl/neigh/set br0 foo f8:bc:12:44:34:b6
run tnl/neigh/set br0 1.1.2.94 zz
run tnl/neigh/set br0 1.1.2.94 f8-bc-12-44-34-b8
run tnl/neigh/show
run tnl/arp/show
run tnl/neigh/aging
run tnl/neigh/aging 0
run tnl/neigh/aging 3601
run tnl/neigh/aging x
run tnl/neigh/aging 120
run tnl/arp/aging
run tnl/neigh/flush
run tnl/neigh/show
# Neighbour snooping: ARP and Neighbor Advertisements received on p1 and flooded to br0's own port by NORMAL.
$N ovs-ofctl add-flow br0 actions=NORMAL
arp() { echo "in_port(1),eth(src=$2,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=$3,tip=$5,op=$1,sha=$2,tha=$4)"; }
na() { echo "in_port(1),eth(src=$1,dst=33:33:00:00:00:01),eth_type(0x86dd),ipv6(src=$2,dst=$3,proto=58,tclass=0,hlimit=255,frag=no),icmpv6(type=136,code=0),nd(target=$4,tll=$5)"; }
recv() { echo "# receive $1"; $N ovs-appctl netdev-dummy/receive p1 "$1" >/dev/null; }
recv "$(arp 2 f8:bc:12:44:34:01 1.1.2.91 aa:55:aa:55:00:00 1.1.2.88)"
recv "$(arp 2 f8:bc:12:44:34:02 1.1.2.92 00:00:00:00:00:00 1.1.2.50)"
recv "$(arp 1 f8:bc:12:44:34:03 1.1.2.93 00:00:00:00:00:00 1.1.2.93)"
recv "$(arp 1 f8:bc:12:44:34:04 1.1.2.94 00:00:00:00:00:00 1.1.2.88)"
recv "$(arp 2 00:00:00:00:00:00 1.1.2.95 00:00:00:00:00:00 1.1.2.88)"
recv "$(na f8:bc:12:44:35:02 2001:db8::92 2001:db8::50 2001:db8::92 f8:bc:12:44:35:02)"
recv "$(na f8:bc:12:44:35:03 2001:db8::93 ff02::1 2001:db8::93 f8:bc:12:44:35:03)"
recv "$(na f8:bc:12:44:35:04 2001:db8::94 2001:db8::88 2001:db8::99 00:00:00:00:00:00)"
recv "$(na f8:bc:12:44:35:05 2001:db8::95 2001:db8::88 2001:db8::96 f8:bc:12:44:35:05)"
sleep 0.5
run tnl/neigh/show
