// SPDX-License-Identifier: MIT
#include "tests/unit/fake_elf.h"

#include <string.h>

#include "vmm/le.h"

static void fake_elf_header(uint8_t *buf, unsigned int phnum, uint64_t entry)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (uint16_t)phnum;
}

static void fake_elf_note(uint8_t *buf, Elf64_Phdr *ph, int descsz,
			  uint64_t pvh_entry)
{
	uint8_t *note = buf + FAKE_ELF_NOTE;

	put_le32(note, 4);
	put_le32(note + 4, (uint32_t)descsz);
	put_le32(note + 8, 18); /* XEN_ELFNOTE_PHYS32_ENTRY */
	memcpy(note + 12, "Xen", 4);
	if (descsz == 8)
		put_le64(note + 16, pvh_entry);
	else
		put_le32(note + 16, (uint32_t)pvh_entry);
	*ph = (Elf64_Phdr){ .p_type = PT_NOTE,
			    .p_offset = FAKE_ELF_NOTE,
			    .p_filesz = 16 + (uint64_t)descsz,
			    .p_align = 4 };
}

void fake_elf_build(uint8_t *buf, const struct seg_spec *segs, unsigned int n,
		    uint64_t entry, int pvh_descsz, uint64_t pvh_entry)
{
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));

	memset(buf, 0, FAKE_ELF_SIZE);
	fake_elf_header(buf, n + (pvh_descsz ? 1 : 0), entry);
	for (unsigned int i = 0; i < n; i++) {
		ph[i] = (Elf64_Phdr){ .p_type = PT_LOAD,
				      .p_offset =
					      FAKE_ELF_DATA + i * FAKE_ELF_SEG,
				      .p_vaddr = segs[i].vaddr,
				      .p_paddr = segs[i].paddr,
				      .p_filesz = segs[i].filesz,
				      .p_memsz = segs[i].memsz,
				      .p_align = 0x1000 };
		memset(buf + FAKE_ELF_DATA + i * FAKE_ELF_SEG, 0x11 * (i + 1),
		       segs[i].filesz);
	}
	if (pvh_descsz)
		fake_elf_note(buf, &ph[n], pvh_descsz, pvh_entry);
}
