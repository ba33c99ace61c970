// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa-ping: ARP-resolve and ping an IPv4 peer through a virtio-net vDPA
 * device driven from userspace over /dev/vhost-vdpa-N, kicking the queues
 * through the doorbell pages mmapped from the device.
 *
 * Made for hardware parents (vp_vdpa) on machines without an IOMMU: the
 * device reaches physical addresses, so the rings and buffers live in one
 * huge page (physically contiguous) mapped at IOVA = its physical address
 * (read from /proc/self/pagemap).  --iova-va maps it at its virtual
 * address instead, for parents with their own translation.
 *
 *   vdpa-ping --dev /dev/vhost-vdpa-0 --ip 10.0.0.1 --peer 10.0.0.2
 *
 * Exit status 0 when an echo reply came back, 1 otherwise.  It prints
 * the peer's MAC, the round trip, and how many kicks went through the
 * doorbell and how many interrupts (call eventfd wake-ups) came back.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vdpa_user.h"

#define RXQ		0
#define TXQ		1
#define QSIZE		64
#define SLOT		2048U
#define HDR_LEN		12U	/* virtio_net_hdr_v1 */
#define HUGE_SIZE	(2UL << 20)
#define ETH_HLEN	14
#define ETH_P_IPV4	0x0800
#define ETH_P_ARP	0x0806
#define PING_ID		0x7670
#define PING_DATA	56

struct ping {
	struct vdpa_dev d;
	uint16_t *db[2];	/* doorbells of RXQ and TXQ */
	uint64_t db_kicks;
	uint8_t mac[6];
	uint8_t peer_mac[6];
	struct in_addr ip;
	struct in_addr peer;
	int timeout_ms;
	int count;
	bool iova_va;
	bool have_peer_mac;
	int replies;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "vdpa-ping: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static uint64_t virt_to_phys(void *p)
{
	uint64_t entry, pfn;
	long psz = sysconf(_SC_PAGESIZE);
	off_t off = (uintptr_t)p / psz * sizeof(entry);
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open /proc/self/pagemap", errno);
	if (pread(fd, &entry, sizeof(entry), off) != sizeof(entry))
		die("read /proc/self/pagemap", errno);
	close(fd);
	pfn = entry & ((1ULL << 55) - 1);
	if (!(entry & (1ULL << 63)) || !pfn) {
		fprintf(stderr, "vdpa-ping: no physical address (not root?)\n");
		exit(1);
	}
	return pfn * psz + (uintptr_t)p % psz;
}

/* One huge page, mapped at IOVA = its physical (or virtual) address. */
static void map_memory(struct ping *p)
{
	struct vdpa_dev *d = &p->d;
	uint64_t iova;
	void *mem;
	int ret;

	mem = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		   -1, 0);
	if (mem == MAP_FAILED)
		die("mmap of a 2 MiB huge page (vm.nr_hugepages?)", errno);
	madvise(mem, HUGE_SIZE, MADV_DONTFORK);
	iova = p->iova_va ? (uintptr_t)mem : virt_to_phys(mem);
	ret = vdpa_iotlb_update(d, 0, iova, HUGE_SIZE, mem, VHOST_ACCESS_RW);
	if (ret)
		die("IOTLB update", ret);
	d->mem = mem;
	d->mem_len = HUGE_SIZE;
	d->mem_used = 0;
	d->mem_iova = iova;
	d->asid = 0;
	d->mem_mapped = true;
}

static void map_doorbells(struct ping *p)
{
	long psz = sysconf(_SC_PAGESIZE);
	void *db;
	int i;

	for (i = 0; i < 2; i++) {
		db = mmap(NULL, psz, PROT_WRITE, MAP_SHARED, p->d.fd,
			  (off_t)i * psz);
		if (db == MAP_FAILED)
			die("mmap of a doorbell", errno == VDPA_ENOTSUPP ? EOPNOTSUPP : errno);
		p->db[i] = db;
	}
}

static void kick(struct ping *p, int q)
{
	/* ring updates before the doorbell write */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(p->db[q], (uint16_t)q, __ATOMIC_RELAXED);
	p->db_kicks++;
}

static uint16_t csum(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum);
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static uint16_t get16(const uint8_t *b)
{
	return (b[0] << 8) | b[1];
}

static void send_frame(struct ping *p, const uint8_t *frame, size_t len)
{
	struct vdpa_vq *vq = &p->d.vq[TXQ];
	uint8_t buf[HDR_LEN + 128] = { 0 };
	struct vdpa_used u;
	int ret;

	/* reclaim what the device has sent */
	while (vdpa_vq_get_used(vq, &u) > 0)
		;
	memcpy(buf + HDR_LEN, frame, len);
	ret = vdpa_vq_add_buf(vq, buf, HDR_LEN + len, false, NULL);
	if (ret < 0)
		die("TX add", ret);
	kick(p, TXQ);
}

static void send_arp(struct ping *p, uint16_t op, const uint8_t *dst_mac,
		     struct in_addr dst_ip)
{
	uint8_t f[ETH_HLEN + 28] = { 0 };
	uint8_t *a = f + ETH_HLEN;

	memcpy(f, op == 1 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : dst_mac, 6);
	memcpy(f + 6, p->mac, 6);
	put16(f + 12, ETH_P_ARP);
	put16(a, 1);
	put16(a + 2, ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, p->mac, 6);
	memcpy(a + 14, &p->ip, 4);
	if (op == 2)
		memcpy(a + 18, dst_mac, 6);
	memcpy(a + 24, &dst_ip, 4);
	send_frame(p, f, sizeof(f));
}

static void send_echo(struct ping *p, uint16_t seq)
{
	uint8_t f[ETH_HLEN + 20 + 8 + PING_DATA] = { 0 };
	uint8_t *ip = f + ETH_HLEN, *icmp = ip + 20;
	int i;

	memcpy(f, p->peer_mac, 6);
	memcpy(f + 6, p->mac, 6);
	put16(f + 12, ETH_P_IPV4);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + PING_DATA);
	put16(ip + 4, seq);
	ip[8] = 64;
	ip[9] = 1;	/* ICMP */
	memcpy(ip + 12, &p->ip, 4);
	memcpy(ip + 16, &p->peer, 4);
	memcpy(ip + 10, (uint16_t[]){ csum(ip, 20) }, 2);
	icmp[0] = 8;	/* echo request */
	put16(icmp + 4, PING_ID);
	put16(icmp + 6, seq);
	for (i = 0; i < PING_DATA; i++)
		icmp[8 + i] = i;
	memcpy(icmp + 2, (uint16_t[]){ csum(icmp, 8 + PING_DATA) }, 2);
	send_frame(p, f, sizeof(f));
}

/* Handle one received frame; true when it is the awaited reply. */
static bool handle_frame(struct ping *p, const uint8_t *f, size_t len,
			 uint16_t seq)
{
	const uint8_t *a = f + ETH_HLEN, *ip = f + ETH_HLEN, *icmp;
	struct in_addr sip, tip;

	if (len < ETH_HLEN + 28)
		return false;
	if (get16(f + 12) == ETH_P_ARP && get16(a + 6) <= 2) {
		memcpy(&sip, a + 14, 4);
		memcpy(&tip, a + 24, 4);
		if (tip.s_addr != p->ip.s_addr)
			return false;
		if (get16(a + 6) == 1) {	/* who has our address */
			send_arp(p, 2, a + 8, sip);
			return false;
		}
		if (sip.s_addr != p->peer.s_addr || p->have_peer_mac)
			return false;
		memcpy(p->peer_mac, a + 8, 6);
		p->have_peer_mac = true;
		return !seq;
	}
	if (get16(f + 12) != ETH_P_IPV4 || (ip[0] >> 4) != 4 || ip[9] != 1)
		return false;
	icmp = ip + (ip[0] & 15) * 4;
	if ((size_t)(icmp - f) + 8 + PING_DATA > len)
		return false;
	memcpy(&sip, ip + 12, 4);
	if (sip.s_addr != p->peer.s_addr || icmp[0] != 0 ||
	    get16(icmp + 4) != PING_ID || get16(icmp + 6) != seq)
		return false;
	for (int i = 0; i < PING_DATA; i++)
		if (icmp[8 + i] != i) {
			fprintf(stderr, "vdpa-ping: echo reply payload differs at %d\n", i);
			return false;
		}
	return true;
}

/* Receive until the awaited frame (seq 0: the ARP reply) or the timeout. */
static bool wait_reply(struct ping *p, uint16_t seq)
{
	struct vdpa_vq *vq = &p->d.vq[RXQ];
	uint64_t end = vdpa_now_ns() + (uint64_t)p->timeout_ms * 1000000;
	struct vdpa_used u;
	bool found = false;
	int ret;

	while (!found && vdpa_now_ns() < end) {
		ret = vdpa_vq_wait(vq, 100);
		if (ret < 0)
			die("RX wait", ret);
		while (vdpa_vq_get_used(vq, &u) > 0) {
			if (u.len > HDR_LEN && !found)
				found = handle_frame(p, (uint8_t *)u.data + HDR_LEN,
						     u.len - HDR_LEN, seq);
			ret = vdpa_vq_add_buf(vq, NULL, SLOT, true, NULL);
			if (ret < 0)
				die("RX refill", ret);
			kick(p, RXQ);
		}
	}
	return found;
}

static void start(struct ping *p)
{
	struct vdpa_dev *d = &p->d;
	struct vhost_vring_state state;
	uint64_t wanted = VDPA_BIT(VIRTIO_F_VERSION_1) | VDPA_BIT(VIRTIO_NET_F_MAC) |
			  VDPA_BIT(VIRTIO_F_ACCESS_PLATFORM);
	int ret, i;

	ret = vdpa_query(d);
	if (!ret)
		ret = vdpa_set_owner(d);
	if (!ret)
		ret = vdpa_set_backend_features(d, VDPA_BIT(VHOST_BACKEND_F_IOTLB_MSG_V2));
	if (ret)
		die("query/owner/backend features", ret);
	if (d->device_id != VIRTIO_ID_NET) {
		fprintf(stderr, "vdpa-ping: not a network device (id %u)\n", d->device_id);
		exit(1);
	}
	map_memory(p);
	ret = vdpa_negotiate(d, wanted);
	if (ret)
		die("feature negotiation", ret);
	if (!(d->features & VDPA_BIT(VIRTIO_NET_F_MAC))) {
		fprintf(stderr, "vdpa-ping: the device has no MAC address\n");
		exit(1);
	}
	ret = vdpa_get_config(d, 0, p->mac, 6);
	if (ret)
		die("config read", ret);
	for (i = RXQ; i <= TXQ; i++) {
		ret = vdpa_vq_setup(d, i, QSIZE, SLOT);
		if (ret)
			die("vq setup", ret);
	}
	map_doorbells(p);
	for (i = 0; i < QSIZE; i++) {
		ret = vdpa_vq_add_buf(&d->vq[RXQ], NULL, SLOT, true, NULL);
		if (ret < 0)
			die("RX fill", ret);
	}
	for (i = RXQ; i <= TXQ; i++) {
		ret = vdpa_vq_enable(d, i, true);
		if (ret)
			die("vq enable", ret);
	}
	ret = vdpa_driver_ok(d);
	if (ret)
		die("DRIVER_OK", ret);
	kick(p, RXQ);
	/* hardware parents may not be able to read ring positions */
	state.index = RXQ;
	ret = ioctl(d->fd, VHOST_GET_VRING_BASE, &state) ? errno : 0;
	printf("get_vring_base: %s\n", ret ? strerror(ret) : "ok");
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: %s --dev /dev/vhost-vdpa-N --ip A.B.C.D --peer A.B.C.D\n"
		"       [--count N] [--timeout MS] [--iova-va]\n", "vdpa-ping");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "ip", required_argument, NULL, 'i' },
		{ "peer", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "iova-va", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct ping p = { .timeout_ms = 5000, .count = 3 };
	const char *dev = NULL;
	uint64_t t0, calls;
	int c, seq, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dev = optarg;
			break;
		case 'i':
			if (!inet_aton(optarg, &p.ip))
				print_usage();
			break;
		case 'p':
			if (!inet_aton(optarg, &p.peer))
				print_usage();
			break;
		case 'c':
			p.count = atoi(optarg);
			break;
		case 't':
			p.timeout_ms = atoi(optarg);
			break;
		case 'v':
			p.iova_va = true;
			break;
		default:
			print_usage();
		}
	}
	if (!dev || !p.ip.s_addr || !p.peer.s_addr || p.count < 1)
		print_usage();

	ret = vdpa_open(&p.d, dev);
	if (ret)
		die(dev, ret);
	start(&p);

	send_arp(&p, 1, NULL, p.peer);
	if (!wait_reply(&p, 0)) {
		fprintf(stderr, "vdpa-ping: no ARP reply from %s\n", inet_ntoa(p.peer));
		return 1;
	}
	printf("arp: %s is at %02x:%02x:%02x:%02x:%02x:%02x\n", inet_ntoa(p.peer),
	       p.peer_mac[0], p.peer_mac[1], p.peer_mac[2], p.peer_mac[3],
	       p.peer_mac[4], p.peer_mac[5]);
	for (seq = 1; seq <= p.count; seq++) {
		t0 = vdpa_now_ns();
		send_echo(&p, seq);
		if (!wait_reply(&p, seq)) {
			fprintf(stderr, "vdpa-ping: no echo reply %d\n", seq);
			continue;
		}
		p.replies++;
		printf("ping: reply from %s seq %d time %.3f ms\n", inet_ntoa(p.peer),
		       seq, (vdpa_now_ns() - t0) / 1e6);
	}
	/* interrupts that came while used entries were already in sight */
	if (read(p.d.vq[RXQ].call_fd, &calls, sizeof(calls)) == sizeof(calls))
		p.d.vq[RXQ].calls += calls;
	printf("sent %d, received %d, doorbell kicks %llu, rx interrupts %llu\n",
	       p.count, p.replies, (unsigned long long)p.db_kicks,
	       (unsigned long long)p.d.vq[RXQ].calls);
	vdpa_reset(&p.d);
	vdpa_close(&p.d);
	return p.replies == p.count ? 0 : 1;
}
