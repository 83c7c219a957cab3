// SPDX-License-Identifier: MIT
/*
 * MSI-X (PCI Local Bus 3.0, 6.8.2): the capability, the vector table and
 * the pending-bit array, served by the core inside the device's BAR.
 *
 * All state is under dev->lock, and messages go out with it held: once a
 * guest write that masks a vector (or the function) has returned, that
 * vector sends nothing more until unmasked. vm_msi() takes no lock of ours.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/internal.h"
#include "pci/pci.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static uint16_t msix_ctrl(const struct pci_dev *dev)
{
	return get_le16(dev->cfg + dev->msix_cap + MSIX_CTRL);
}

bool pci_msix_enabled_locked(const struct pci_dev *dev)
{
	return dev->msix && (msix_ctrl(dev) & MSIX_CTRL_ENABLE);
}

/* Enabled and the function not masked: vectors may send. */
static bool msix_live(const struct pci_dev *dev)
{
	return dev->msix &&
	       (msix_ctrl(dev) & (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL)) ==
		       MSIX_CTRL_ENABLE;
}

static void msix_send(struct pci_dev *dev, unsigned int vec)
{
	struct pci_msix_vec *v = &dev->msix[vec];
	int ret;

	v->pending = false;
	if (!dev->bus)
		return;
	ret = vm_msi(dev->bus->vm, v->addr, v->data);
	if (ret)
		log_debug("pci: %s MSI-X vector %u (0x%llx/0x%x): %d",
			  dev->name, vec, (unsigned long long)v->addr, v->data,
			  ret);
}

/* Send what is pending on vectors that may send now. */
static void msix_flush(struct pci_dev *dev)
{
	if (!msix_live(dev))
		return;
	for (unsigned int i = 0; i < dev->msix_nvec; i++)
		if (dev->msix[i].pending && !dev->msix[i].masked)
			msix_send(dev, i);
}

int pci_dev_init_msix(struct pci_dev *dev, unsigned int nvec, unsigned int bar,
		      uint32_t table_off, uint32_t pba_off)
{
	uint8_t cap[MSIX_CAP_LEN] = { CAP_ID_MSIX };
	uint64_t tsize = (uint64_t)nvec * MSIX_ENTRY_SIZE;
	uint64_t psize = ((uint64_t)nvec + 63) / 64 * 8, bsize;
	struct pci_msix_vec *v;
	int off;

	if (dev->bus || dev->msix || nvec == 0 || nvec > MSIX_MAX_VECTORS ||
	    bar >= PCI_NR_BARS || !dev->bar[bar].size ||
	    (dev->bar[bar].flags & PCI_BAR_IO) || ((table_off | pba_off) & 7))
		return -EINVAL;
	bsize = dev->bar[bar].size;
	if (table_off > bsize || tsize > bsize - table_off || pba_off > bsize ||
	    psize > bsize - pba_off ||
	    (table_off < pba_off + psize && pba_off < table_off + tsize))
		return -EINVAL;
	v = calloc(nvec, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (unsigned int i = 0; i < nvec; i++)
		v[i].masked = true;
	put_le16(cap + MSIX_CTRL, (uint16_t)(nvec - 1));
	put_le32(cap + 4, table_off | bar);
	put_le32(cap + 8, pba_off | bar);
	off = pci_dev_add_cap(dev, cap, sizeof(cap));
	if (off < 0) {
		free(v);
		return off;
	}
	pthread_mutex_lock(&dev->lock);
	dev->msix = v;
	dev->msix_nvec = nvec;
	dev->msix_bar = bar;
	dev->msix_table = table_off;
	dev->msix_pba = pba_off;
	dev->msix_cap = (uint8_t)off;
	/* Only function mask and enable are the guest's to write. */
	dev->wmask[off + MSIX_CTRL + 1] =
		(uint8_t)((MSIX_CTRL_MASKALL | MSIX_CTRL_ENABLE) >> 8);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

bool pci_msix_enabled(struct pci_dev *dev)
{
	bool ret;

	pthread_mutex_lock(&dev->lock);
	ret = pci_msix_enabled_locked(dev);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

void pci_msix_ctrl_written(struct pci_dev *dev, uint16_t old_ctrl)
{
	uint16_t ctrl = msix_ctrl(dev);

	if (ctrl == old_ctrl)
		return;
	/* INTx is off while MSI-X is enabled. */
	if ((ctrl ^ old_ctrl) & MSIX_CTRL_ENABLE)
		pci_intx_update_locked(dev);
	msix_flush(dev);
}

void pci_dev_notify(struct pci_dev *dev, unsigned int vec)
{
	pthread_mutex_lock(&dev->lock);
	if (!pci_msix_enabled_locked(dev)) {
		dev->intx_level = true;
		pci_intx_update_locked(dev);
	} else if (vec < dev->msix_nvec) {
		if (msix_live(dev) && !dev->msix[vec].masked)
			msix_send(dev, vec);
		else
			dev->msix[vec].pending = true;
	}
	pthread_mutex_unlock(&dev->lock);
}

/* One table entry as the guest sees it. */
static void entry_get(const struct pci_msix_vec *v, uint8_t e[16])
{
	put_le64(e, v->addr);
	put_le32(e + 8, v->data);
	put_le32(e + 12, v->masked ? 1 : 0); /* vector control */
}

/*
 * Table access at @off from its start: a read fills @rd, a write takes
 * @wr. Bytes past the table read 0 and are dropped on write. Entries are
 * byte arrays here, so any width works.
 */
static void table_access(struct pci_dev *dev, uint64_t off, uint8_t *rd,
			 const uint8_t *wr, uint32_t len)
{
	uint64_t end = (uint64_t)dev->msix_nvec * MSIX_ENTRY_SIZE;

	pthread_mutex_lock(&dev->lock);
	for (uint32_t i = 0; i < len;) {
		uint64_t o = off + i;
		uint32_t at = (uint32_t)(o % MSIX_ENTRY_SIZE);
		uint32_t n = MSIX_ENTRY_SIZE - at;
		uint8_t e[MSIX_ENTRY_SIZE];
		unsigned int vec = (unsigned int)(o / MSIX_ENTRY_SIZE);
		struct pci_msix_vec *v;
		bool was_masked;

		if (o >= end) {
			if (rd)
				memset(rd + i, 0, len - i);
			break;
		}
		v = &dev->msix[vec];
		n = n < len - i ? n : len - i;
		entry_get(v, e);
		if (rd) {
			memcpy(rd + i, e + at, n);
			i += n;
			continue;
		}
		memcpy(e + at, wr + i, n);
		i += n;
		was_masked = v->masked;
		v->addr = get_le64(e);
		v->data = get_le32(e + 8);
		v->masked = e[12] & 1;
		if (was_masked && !v->masked && v->pending && msix_live(dev))
			msix_send(dev, vec);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* The PBA: one bit per vector, read-only; bytes past it read 0. */
static void pba_read(struct pci_dev *dev, uint64_t off, uint8_t *data,
		     uint32_t len)
{
	pthread_mutex_lock(&dev->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t first = (off + i) * 8;
		uint8_t byte = 0;

		for (unsigned int b = 0; b < 8; b++)
			if (first + b < dev->msix_nvec &&
			    dev->msix[first + b].pending)
				byte |= (uint8_t)(1u << b);
		data[i] = byte;
	}
	pthread_mutex_unlock(&dev->lock);
}

static bool in_range(uint64_t off, uint64_t base, uint64_t size)
{
	return off >= base && off - base < size;
}

static uint64_t pba_size(const struct pci_dev *dev)
{
	return ((uint64_t)dev->msix_nvec + 63) / 64 * 8;
}

/*
 * The whole BAR holding the table: an access that starts in the table or
 * the PBA is served here, anything else goes to the device with its
 * BAR-relative offset. The layout is fixed before pci_bus_add().
 */
static void msix_bar_read(void *opaque, uint64_t off, uint8_t *data,
			  uint32_t len)
{
	struct pci_dev *dev = opaque;
	const struct pci_bar *b = &dev->bar[dev->msix_bar];

	if (in_range(off, dev->msix_table,
		     (uint64_t)dev->msix_nvec * MSIX_ENTRY_SIZE))
		table_access(dev, off - dev->msix_table, data, NULL, len);
	else if (in_range(off, dev->msix_pba, pba_size(dev)))
		pba_read(dev, off - dev->msix_pba, data, len);
	else if (b->ops)
		b->ops->read(b->opaque, off, data, len);
	else
		memset(data, 0, len);
}

static void msix_bar_write(void *opaque, uint64_t off, const uint8_t *data,
			   uint32_t len)
{
	struct pci_dev *dev = opaque;
	const struct pci_bar *b = &dev->bar[dev->msix_bar];

	if (in_range(off, dev->msix_table,
		     (uint64_t)dev->msix_nvec * MSIX_ENTRY_SIZE))
		table_access(dev, off - dev->msix_table, NULL, data, len);
	else if (in_range(off, dev->msix_pba, pba_size(dev)))
		return; /* read-only */
	else if (b->ops)
		b->ops->write(b->opaque, off, data, len);
}

const struct bus_ops pci_msix_bar_ops = { msix_bar_read, msix_bar_write };
