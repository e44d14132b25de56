// The registers a guest can name, with a one-line description for hover and completion (SDM Vol. 1 3.4,
// Vol. 3A 2.5 control registers, 17.2 debug registers).
export const REGISTER_DOCS: ReadonlyMap<string, string> = new Map([
  ...(['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const).map((r) => [r, `32-bit general register ${r.toUpperCase()}.`] as const),
  ...(['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const).map((r) => [r, `Low 16 bits of E${r.toUpperCase()}.`] as const),
  ...(['al', 'cl', 'dl', 'bl'] as const).map((r) => [r, `Low byte of E${r[0]!.toUpperCase()}X.`] as const),
  ...(['ah', 'ch', 'dh', 'bh'] as const).map((r) => [r, `Bits 8–15 of E${r[0]!.toUpperCase()}X.`] as const),
  ['cs', 'Code segment: its selector\'s RPL is the current privilege level (CPL). Under trap-and-emulate a guest kernel sees RPL 1 here.'],
  ['ss', 'Stack segment: its RPL equals CPL.'],
  ...(['ds', 'es', 'fs', 'gs'] as const).map((r) => [r, `Data segment register ${r.toUpperCase()}.`] as const),
  ['cr0', 'CR0: PE (bit 0) protected mode, TS (bit 3), WP (bit 16) write-protect in ring 0, PG (bit 31) paging. MOV to/from CR0 is privileged; SMSW reads its low 16 bits without privilege.'],
  ['cr2', 'CR2: the linear address of the last page fault.'],
  ['cr3', 'CR3: physical address of the page directory. Writing it flushes non-global TLB entries; under shadow paging the VMM intercepts it.'],
  ['cr4', 'CR4: PSE (bit 4) 4 MiB pages, PGE (bit 7) global pages, VMXE (bit 13) enables VMXON.'],
  ...(['dr0', 'dr1', 'dr2', 'dr3'] as const).map((r) => [r, `Debug register ${r.toUpperCase()}: a breakpoint linear address.`] as const),
  ['dr6', 'DR6: debug status.'],
  ['dr7', 'DR7: debug control (enables and conditions for DR0–DR3).'],
]);
