/* lwIP configuration: Keel's one network config header. Every value that
 * differs from lwIP's default (src/include/lwip/opt.h) is here with the
 * reason; net_init() prints the sizes at boot.
 *
 * Memory budget at these sizes: see the boot lines "keel: net: pools: ..."
 * (lwIP's byte budget and PCB cap, net/lwip_mem.c) and "keel: net: TCP:
 * ..." (the per-connection window and send buffer, net/net.c). */
#ifndef KEEL_LWIPOPTS_H
#define KEEL_LWIPOPTS_H

/* --- platform ---------------------------------------------------------- */

/* No OS threads: the net poller task drives lwIP through the raw API, and
 * the cooperative scheduler guarantees only one task is inside lwIP at a
 * time. IRQ handlers never call lwIP, so no lightweight protection. */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_ERRNO_STDINCLUDE 1
#define MEM_ALIGNMENT 8
#define LWIP_CHKSUM_ALGORITHM 3

/* --- memory: taken from the kernel heap as used (net/lwip_mem.c) ------- */

/* Every lwIP pool and its heap come from lwip_mem.c's size classes, under
 * a byte budget set at boot from free memory: nothing is reserved at
 * build time, so the same image serves in 4 MiB and holds ten thousand
 * connections in 256 MiB. lwIP's MEMP_NUM_* pool sizes no longer apply. */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define mem_clib_malloc lwip_mem_malloc
#define mem_clib_calloc lwip_mem_calloc
#define mem_clib_free lwip_mem_free
#include "net/lwip_mem.h"
/* With MEM_LIBC_MALLOC this only picks the width of lwIP's heap sizes:
 * above 64000, 32 bits. */
#define MEM_SIZE (1024 * 1024)

/* TIME_WAIT PCBs kept (net.c trims the oldest beyond it: lwIP walks the
 * list for every SYN), and room for them in the PCB cap, which is
 * max_conns plus headroom plus this (net_init). */
#define KEEL_TIME_WAIT_PCBS 256
/* TIME_WAIT lasts 2 x MSL: 60 s, as on Linux, rather than lwIP's 120 s. */
#define TCP_MSL 30000UL
/* One pool pbuf holds one whole Ethernet frame, so the NIC driver copies
 * each frame into exactly one pbuf. */
#define PBUF_POOL_BUFSIZE 1536

/* --- protocols ----------------------------------------------------------- */

#define LWIP_ARP 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1 /* DHCP */
#define LWIP_DHCP 1
/* The ARP probe before using a DHCP lease costs seconds at boot; the
 * DHCP server already checked the address. */
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define LWIP_IPV6 0
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
/* Checksums per netif (NETIF_SET_CHECKSUM_CTRL): net.c leaves the TCP
 * checksum to a NIC that offloads it, and skips checking frames the NIC
 * vouches for. Generation and checking stay on otherwise (e1000). */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1

/* --- TCP ----------------------------------------------------------------- */

#define LWIP_TCP 1
#define TCP_MSS 1460
/* Window scaling (RFC 7323 §2) so the receive window can exceed 64 KiB,
 * and so lwIP honours the peer's scale when sending (without it a Linux
 * peer's window reads as at most 64 KiB). Scale 2^3: windows up to
 * 512 KiB, in 8-byte units. It widens lwIP's window fields to 32 bits:
 * a PCB grows from 224 to 248 bytes, yet memory per idle connection
 * measured the same (3,000 held: 588-590 B, and 595-598 B before).
 * Measured against 64 KiB windows without scaling (10 MiB GET, tap,
 * virtio, loaded host): 17 (15-18) MiB/s against 11 (10.5-11.7).
 * Receive: 128 KiB, about the bandwidth-delay product of the virtual link
 * under TCG (a few hundred MiB/s over a round trip near half a
 * millisecond), so one upload is not window-bound. It costs idle
 * connections nothing: conn.c's receive ring is allocated when data
 * arrives, grows only while unread data backs up (to this size at most),
 * and is freed when drained. Was 8 segments.
 * Send: 128 KiB, since one bulk response is window-bound (10 MiB went at
 * 43-53 MiB/s with 8 segments and 69-110 MiB/s with 32, TCG, virtio,
 * curl). Send data comes from lwip_mem.c's shared budget, so this is a
 * per-connection ceiling, not a reservation. */
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 3
#define TCP_WND (128 * 1024)
#define TCP_SND_BUF (128 * 1024)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
/* lwIP's default (half the send buffer) overflows its 16-bit field. */
#define TCP_SNDLOWAT (32 * 1024)
#define TCP_QUEUE_OOSEQ 1
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 255
#define LWIP_TCP_KEEPALIVE 1
/* Allocate a little extra at the end of tcp_write copies so small writes
 * coalesce into one segment. */
#define TCP_OVERSIZE TCP_MSS

/* --- statistics (exported by /metrics) ------------------------------------ */

#define LWIP_STATS 1
#define LWIP_STATS_DISPLAY 0
#define LINK_STATS 1
#define ETHARP_STATS 1
#define IP_STATS 1
#define ICMP_STATS 1
#define UDP_STATS 0
#define TCP_STATS 1
#define MEM_STATS 1
#define MEMP_STATS 1
#define SYS_STATS 0

#endif
