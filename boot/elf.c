// SPDX-License-Identifier: MIT
/*
 * ELF kernels. The file is untrusted: libelf reads the headers, and every
 * offset and size it returns is checked here against the file and against
 * overflow before anything is copied.
 */
#include "boot/elf.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* From Xen's public/elfnote.h: the 32-bit PVH entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ELF_MAX_PHDRS 64

bool elf_detect(const struct boot_image *img)
{
	return img->size >= SELFMAG && !memcmp(img->data, ELFMAG, SELFMAG);
}

static int elf_bad(const struct boot_image *img, const char *why)
{
	log_err("kernel %s: %s", img->path, why);
	return -ENOEXEC;
}

/* e_ident first, so a 32-bit or big-endian file gets the right reason. */
static int elf_check_ident(const struct boot_image *img)
{
	const uint8_t *id = img->data;

	if (img->size < EI_NIDENT)
		return elf_bad(img, "truncated ELF identification");
	if (id[EI_CLASS] == ELFCLASS32)
		return elf_bad(
			img,
			"32-bit ELF (ELFCLASS32): only 64-bit x86_64 kernels are supported");
	if (id[EI_CLASS] != ELFCLASS64)
		return elf_bad(img, "unknown ELF class");
	if (id[EI_DATA] != ELFDATA2LSB)
		return elf_bad(img, "not a little-endian ELF file");
	if (img->size < sizeof(Elf64_Ehdr))
		return elf_bad(img, "truncated: the ELF header needs 64 bytes");
	return 0;
}

static int elf_check_ehdr(const struct boot_image *img, Elf *e, size_t *nphdr)
{
	GElf_Ehdr eh;

	if (!gelf_getehdr(e, &eh))
		return elf_bad(img, "unreadable ELF header");
	if (eh.e_machine != EM_X86_64) {
		log_err("kernel %s: ELF machine %u is not x86_64 (%u)",
			img->path, eh.e_machine, EM_X86_64);
		return -ENOEXEC;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return elf_bad(img, "ELF file is not an executable");
	/* Our own bounds check first: it names the problem precisely. */
	if (eh.e_phnum > ELF_MAX_PHDRS || eh.e_phentsize != sizeof(Elf64_Phdr))
		return elf_bad(img, "ELF program header table is malformed");
	if (eh.e_phoff > img->size ||
	    img->size - eh.e_phoff < eh.e_phnum * sizeof(Elf64_Phdr))
		return elf_bad(
			img,
			"truncated: the program headers end beyond the file");
	if (elf_getphdrnum(e, nphdr) || *nphdr == 0 || *nphdr != eh.e_phnum)
		return elf_bad(img, "ELF file has no program headers");
	return 0;
}

/* A PT_LOAD segment: inside the file, sizes sane, address without wrap. */
static int elf_add_segment(const struct boot_image *img, const GElf_Phdr *ph,
			   struct elf_kernel *k)
{
	struct elf_segment *s;

	if (ph->p_filesz > ph->p_memsz)
		return elf_bad(img,
			       "a segment's file size exceeds its memory size");
	if (ph->p_offset > img->size ||
	    img->size - ph->p_offset < ph->p_filesz) {
		log_err("kernel %s: truncated: segment at 0x%llx (0x%llx bytes at file offset 0x%llx) ends beyond the file (%zu bytes)",
			img->path, (unsigned long long)ph->p_paddr,
			(unsigned long long)ph->p_filesz,
			(unsigned long long)ph->p_offset, img->size);
		return -ENOEXEC;
	}
	if (ph->p_paddr + ph->p_memsz < ph->p_paddr)
		return elf_bad(img, "a segment wraps around the address space");
	if (k->nr_segments == ELF_MAX_SEGMENTS)
		return elf_bad(img, "too many loadable segments");
	s = &k->seg[k->nr_segments++];
	*s = (struct elf_segment){ ph->p_paddr, ph->p_vaddr, ph->p_offset,
				   ph->p_filesz, ph->p_memsz };
	/* Keep them sorted by address: insertion, there are few. */
	for (; s > k->seg && s[-1].paddr > s->paddr; s--) {
		struct elf_segment t = s[-1];

		s[-1] = *s;
		*s = t;
	}
	return 0;
}

/* Look for the Xen PVH entry note in one PT_NOTE segment. */
static int elf_scan_notes(const struct boot_image *img, Elf *e,
			  const GElf_Phdr *ph, struct elf_kernel *k)
{
	size_t off = 0, next, name_off, desc_off;
	Elf_Data *d;
	GElf_Nhdr nh;

	if (ph->p_offset > img->size || img->size - ph->p_offset < ph->p_filesz)
		return elf_bad(
			img, "truncated: a note segment ends beyond the file");
	d = elf_getdata_rawchunk(e, (int64_t)ph->p_offset, ph->p_filesz,
				 ELF_T_NHDR);
	if (!d)
		return elf_bad(img, "unreadable ELF note segment");
	while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const uint8_t *desc = (const uint8_t *)d->d_buf + desc_off;

		off = next;
		if (nh.n_type != XEN_ELFNOTE_PHYS32_ENTRY || nh.n_namesz != 4 ||
		    memcmp((const char *)d->d_buf + name_off, "Xen", 4))
			continue;
		if (nh.n_descsz == 4) {
			k->pvh_entry = get_le32(desc);
		} else if (nh.n_descsz == 8 && get_le64(desc) <= UINT32_MAX) {
			k->pvh_entry = (uint32_t)get_le64(desc);
		} else {
			return elf_bad(
				img,
				"the PVH entry note does not hold a 32-bit address");
		}
		k->has_pvh = true;
	}
	return 0;
}

static int elf_read_phdrs(const struct boot_image *img, Elf *e, size_t n,
			  struct elf_kernel *k)
{
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		int ret = 0;

		if (!gelf_getphdr(e, (int)i, &ph))
			return elf_bad(img, "unreadable program header");
		if (ph.p_type == PT_LOAD && ph.p_memsz)
			ret = elf_add_segment(img, &ph, k);
		else if (ph.p_type == PT_NOTE)
			ret = elf_scan_notes(img, e, &ph, k);
		if (ret)
			return ret;
	}
	if (!k->nr_segments)
		return elf_bad(img, "ELF file has no loadable segments");
	return 0;
}

/* Segments sorted by paddr: any overlap shows between neighbours. */
static int elf_check_overlap(const struct boot_image *img, struct elf_kernel *k)
{
	for (unsigned int i = 0; i + 1 < k->nr_segments; i++) {
		const struct elf_segment *a = &k->seg[i], *b = &k->seg[i + 1];

		if (a->paddr + a->memsz > b->paddr) {
			log_err("kernel %s: segments at 0x%llx and 0x%llx overlap",
				img->path, (unsigned long long)a->paddr,
				(unsigned long long)b->paddr);
			return -ENOEXEC;
		}
	}
	k->start = k->seg[0].paddr;
	k->end = k->seg[k->nr_segments - 1].paddr +
		 k->seg[k->nr_segments - 1].memsz;
	return 0;
}

static bool in_segment(const struct elf_kernel *k, uint64_t pa)
{
	for (unsigned int i = 0; i < k->nr_segments; i++)
		if (pa >= k->seg[i].paddr &&
		    pa - k->seg[i].paddr < k->seg[i].memsz)
			return true;
	return false;
}

/* e_entry may be physical (vmlinux) or virtual: translate the latter. */
static int elf_find_entry(const struct boot_image *img, Elf *e,
			  struct elf_kernel *k)
{
	GElf_Ehdr eh;

	gelf_getehdr(e, &eh);
	k->entry = eh.e_entry;
	if (!in_segment(k, k->entry)) {
		for (unsigned int i = 0; i < k->nr_segments; i++) {
			const struct elf_segment *s = &k->seg[i];

			if (eh.e_entry >= s->vaddr &&
			    eh.e_entry - s->vaddr < s->memsz)
				k->entry = s->paddr + (eh.e_entry - s->vaddr);
		}
	}
	if (!in_segment(k, k->entry)) {
		log_err("kernel %s: entry point 0x%llx is outside every loaded segment",
			img->path, (unsigned long long)eh.e_entry);
		return -ENOEXEC;
	}
	if (k->has_pvh && !in_segment(k, k->pvh_entry)) {
		log_err("kernel %s: PVH entry point 0x%x is outside every loaded segment",
			img->path, k->pvh_entry);
		return -ENOEXEC;
	}
	return 0;
}

int elf_parse(const struct boot_image *img, struct elf_kernel *out)
{
	size_t nphdr = 0;
	Elf *e;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!elf_detect(img))
		return elf_bad(img, "not an ELF file");
	ret = elf_check_ident(img);
	if (ret)
		return ret;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return elf_bad(img, "libelf is unusable");
	e = elf_memory((char *)img->data, img->size);
	if (!e)
		return elf_bad(img, elf_errmsg(-1));
	ret = elf_check_ehdr(img, e, &nphdr);
	if (!ret)
		ret = elf_read_phdrs(img, e, nphdr, out);
	if (!ret)
		ret = elf_check_overlap(img, out);
	if (!ret)
		ret = elf_find_entry(img, e, out);
	elf_end(e);
	return ret;
}

int elf_load_segments(struct vm *vm, const struct boot_image *img,
		      const struct elf_kernel *k)
{
	for (unsigned int i = 0; i < k->nr_segments; i++) {
		const struct elf_segment *s = &k->seg[i];
		uint8_t *dst = vm_gpa_to_hva(vm, s->paddr, s->memsz);

		/* Below 1 MiB live our GDT, page tables and zero page. */
		if (s->paddr < LAYOUT_HIMEM || !dst) {
			log_err("kernel %s: segment at 0x%llx-0x%llx is not guest RAM above 1 MiB (guest has %llu MiB)",
				img->path, (unsigned long long)s->paddr,
				(unsigned long long)(s->paddr + s->memsz),
				(unsigned long long)(vm->ram_size >> 20));
			return -ENOMEM;
		}
		memcpy(dst, img->data + s->offset, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}
