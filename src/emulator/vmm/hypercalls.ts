// HyperStep's paravirtual hypercall ABI (technique `paravirtual`), modelled on the x86-32 Xen interface of
// the `int $0x82` era (virtualization.md §5: hypervisor-if.h, xen.h, sched.h, event_channel.h). Calling
// convention: EAX = hypercall number, arguments in EBX, ECX, EDX, ESI, EDI, `int 0x82`, result in EAX
// (negative errno on failure, as Xen). Numbers are Xen's wherever Xen has the call; where HyperStep simplifies
// a Xen argument (a pointer to a struct becomes a register value) the table says so. Specification for guest
// authors: docs/vmm/hypercall-abi.md; NASM macros: samples/include/hypercall.inc (kept in sync by a test).

export const HYPERCALL_VECTOR = 0x82;

export type ArgumentRegister = 'ebx' | 'ecx' | 'edx' | 'esi' | 'edi';
export const ARGUMENT_REGISTERS: readonly ArgumentRegister[] = ['ebx', 'ecx', 'edx', 'esi', 'edi'];

export interface HypercallArgument {
  readonly register: ArgumentRegister;
  readonly name: string;
  readonly description: string;
}

export interface HypercallInfo {
  readonly number: number;
  /** Xen's name without the __HYPERVISOR_ prefix. */
  readonly name: string;
  readonly args: readonly HypercallArgument[];
  /** What EAX holds afterwards. */
  readonly result: string;
  readonly description: string;
  /** How HyperStep differs from Xen's version of the call, if at all. */
  readonly differsFromXen?: string;
  /** Paging hypercalls: accepted only once memory virtualization exists (issue 6). */
  readonly paging?: boolean;
}

const arg = (register: ArgumentRegister, name: string, description: string): HypercallArgument => ({ register, name, description });

export const HYPERCALLS: readonly HypercallInfo[] = [
  {
    number: 0,
    name: 'set_trap_table',
    args: [arg('ebx', 'table', 'guest address of trap_info entries {u8 vector, u8 flags, u16 cs, u32 address}, ended by address 0')],
    result: '0, or -EINVAL for a bad vector, selector or flag',
    description:
      'Fills the virtual IDT. flags bits 1:0 = the DPL that may raise the vector with int n; bit 2 (TI_MASK_EVENTS) = mask events on entry, like an interrupt gate; bit 3 (TI_FAST) = fast trap: the VMM installs a real gate so int n goes straight to the ring-1 handler without entering the VMM (allowed only for DPL-3 software vectors, e.g. 0x80).',
    differsFromXen: 'Xen 2 had a separate set_fast_trap(vector); HyperStep folds it into this table as flag bit 3.',
  },
  {
    number: 1,
    name: 'mmu_update',
    args: [
      arg('ebx', 'requests', 'guest address of {u64 ptr, u64 val} pairs; ptr bits 1:0 = command (0 MMU_NORMAL_PT_UPDATE)'),
      arg('ecx', 'count', 'number of requests'),
      arg('edx', 'done', 'guest address to store the number completed, or 0'),
      arg('esi', 'domain', 'DOMID_SELF (0x7FF0)'),
    ],
    result: '0, or -EINVAL/-EPERM for a rejected update (requests before it are applied; *done says how many)',
    description: 'Validated writes to page-table entries of validated page directories and page tables (the guest page tables are read-only to it): no entry may map VMM memory, map a page-table page writable, use a 4 MiB page or the VMM\'s directory slots.',
    paging: true,
  },
  {
    number: 3,
    name: 'stack_switch',
    args: [arg('ebx', 'ss', 'ring-1 stack segment (FLAT_RING1_DS)'), arg('ecx', 'esp', 'ring-1 stack pointer')],
    result: '0, or -EINVAL if SS is not a ring-1 data selector',
    description: 'Sets the stack the VMM switches to when a trap or event arrives from ring 3: the virtual TSS.ss1/esp1.',
  },
  {
    number: 4,
    name: 'set_callbacks',
    args: [
      arg('ebx', 'event', 'address of the event (virtual interrupt) upcall handler, in FLAT_RING1_CS'),
      arg('ecx', 'failsafe', 'address of the failsafe handler (called when an iret hypercall frame is invalid)'),
      arg('edx', 'shared_info', 'guest-physical address of a page-aligned page the VMM uses as the shared-info page'),
    ],
    result: '0, or -EINVAL for an unaligned or unmapped shared-info page',
    description: 'Registers the event upcall and where the shared-info page (pending and mask bits, time) lives.',
    differsFromXen: 'Xen passes selector:address pairs and tells the guest where shared_info is (start_info); HyperStep lets the guest choose the page in EDX.',
  },
  {
    number: 13,
    name: 'multicall',
    args: [
      arg('ebx', 'calls', 'guest address of entries {u32 op, u32 result, u32 args[6]} (32 bytes each)'),
      arg('ecx', 'count', 'number of entries'),
    ],
    result: '0 (each entry\'s result field receives that call\'s EAX), or -EINVAL',
    description: 'Runs several hypercalls for the price of one trap (xen.h multicall_entry).',
  },
  {
    number: 14,
    name: 'update_va_mapping',
    args: [
      arg('ebx', 'va', 'linear address whose PTE changes'),
      arg('ecx', 'pte', 'new page-table entry (non-PAE, 32 bits)'),
      arg('edx', 'flags', 'UVMF_NONE 0, UVMF_TLB_FLUSH 1, UVMF_INVLPG 2'),
    ],
    result: '0, or -EINVAL/-EPERM (the same validation as mmu_update)',
    description: 'Validated update of the PTE that maps one address in the current address space, with an optional INVLPG or TLB flush.',
    paging: true,
  },
  {
    number: 15,
    name: 'set_timer_op',
    args: [arg('ebx', 'deadline_lo', 'absolute deadline in ns of system time, low 32 bits'), arg('ecx', 'deadline_hi', 'high 32 bits (0:0 cancels)')],
    result: '0',
    description: 'One-shot timer: at the deadline the VMM raises VIRQ_TIMER on the port bound to it. System time is in the shared-info page.',
  },
  {
    number: 17,
    name: 'xen_version',
    args: [arg('ebx', 'cmd', 'XENVER_version (0) or XENVER_platform_parameters (5)')],
    result: 'version: major << 16 | minor of the HyperStep PV ABI (0x00010000 = 1.0); platform_parameters: HYPERVISOR_VIRT_START, the lowest linear address the guest may not map; -ENOSYS for other commands',
    description: 'Version query; also the conventional "null hypercall" a guest makes to get pending events delivered.',
  },
  {
    number: 18,
    name: 'console_io',
    args: [
      arg('ebx', 'cmd', 'CONSOLEIO_write (0) or CONSOLEIO_read (1)'),
      arg('ecx', 'count', 'number of bytes'),
      arg('edx', 'buffer', 'guest address of the bytes'),
    ],
    result: 'bytes written or read, or -EFAULT',
    description: 'The VMM console: writes go to the same serial output a native guest reaches through COM1; reads take pending serial input.',
  },
  {
    number: 23,
    name: 'iret',
    args: [],
    result: 'does not return; on a bad frame the failsafe callback runs',
    description:
      'Return from a trap or event handler. The ring-1 stack holds {EAX, EIP, CS, EFLAGS[, ESP, SS]}: EAX is restored, the event mask becomes !EFLAGS.IF (the virtual IF), and ESP/SS are popped when CS is a ring-3 selector.',
  },
  {
    number: 26,
    name: 'mmuext_op',
    args: [
      arg('ebx', 'ops', 'guest address of {u32 cmd, u32 arg1, u32 arg2} entries (MMUEXT_PIN_L2_TABLE 1 / UNPIN_TABLE 4 / NEW_BASEPTR 5 with arg1 = page-directory frame number, TLB_FLUSH_LOCAL 6, INVLPG_LOCAL 7 with arg1 = address)'),
      arg('ecx', 'count', 'number of entries'),
      arg('edx', 'done', 'guest address to store the number completed, or 0'),
      arg('esi', 'domain', 'DOMID_SELF (0x7FF0)'),
    ],
    result: '0, or -EINVAL/-EPERM',
    description: 'Extended MMU operations: pin validates a page directory and its page tables ahead of use; MMUEXT_NEW_BASEPTR is the paravirtual "mov cr3" (new_baseptr): it validates the directory, loads it into the real CR3 and, the first time, turns paging on (CR0.PG and CR0.WP).',
    paging: true,
  },
  {
    number: 29,
    name: 'sched_op',
    args: [
      arg('ebx', 'cmd', 'SCHEDOP_yield (0), SCHEDOP_block (1) or SCHEDOP_shutdown (2)'),
      arg('ecx', 'reason', 'for shutdown: SHUTDOWN_poweroff 0, reboot 1, suspend 2, crash 3'),
      arg('edx', 'status', 'for shutdown: exit status, the value a native guest writes to the debug-exit port 0xF4'),
    ],
    result: '0 (yield; block after an event arrived); shutdown does not return',
    description: 'yield gives up the CPU; block atomically unmasks events and sleeps until one is pending (the PV "sti; hlt"); shutdown ends the guest.',
    differsFromXen: 'Xen passes a pointer to struct sched_shutdown; HyperStep passes the reason in ECX and adds the exit status in EDX.',
  },
  {
    number: 32,
    name: 'event_channel_op',
    args: [
      arg('ebx', 'cmd', 'EVTCHNOP_bind_virq (1), EVTCHNOP_close (3), EVTCHNOP_send (4), EVTCHNOP_unmask (9)'),
      arg('ecx', 'arg', 'bind_virq: VIRQ_TIMER (0) or VIRQ_CONSOLE (2); close/send/unmask: the port'),
    ],
    result: 'bind_virq: the port (0–31); others: 0; -EINVAL for a bad port or virq',
    description: 'Event channels: a virtual interrupt sets its port\'s bit in shared_info.evtchn_pending and, unless masked, upcalls the event callback.',
    differsFromXen: 'Xen passes a pointer to an evtchn_op struct; HyperStep passes the command and one argument in registers.',
  },
];

/** Sub-command and constant values used by the calls above (Xen's values). */
export const HypercallConstants = {
  CONSOLEIO_write: 0,
  CONSOLEIO_read: 1,
  SCHEDOP_yield: 0,
  SCHEDOP_block: 1,
  SCHEDOP_shutdown: 2,
  SHUTDOWN_poweroff: 0,
  SHUTDOWN_reboot: 1,
  SHUTDOWN_suspend: 2,
  SHUTDOWN_crash: 3,
  XENVER_version: 0,
  XENVER_platform_parameters: 5,
  EVTCHNOP_bind_virq: 1,
  EVTCHNOP_close: 3,
  EVTCHNOP_send: 4,
  EVTCHNOP_unmask: 9,
  VIRQ_TIMER: 0,
  VIRQ_CONSOLE: 2,
  MMU_NORMAL_PT_UPDATE: 0,
  MMUEXT_PIN_L2_TABLE: 1,
  MMUEXT_UNPIN_TABLE: 4,
  MMUEXT_NEW_BASEPTR: 5,
  MMUEXT_TLB_FLUSH_LOCAL: 6,
  MMUEXT_INVLPG_LOCAL: 7,
  UVMF_NONE: 0,
  UVMF_TLB_FLUSH: 1,
  UVMF_INVLPG: 2,
  DOMID_SELF: 0x7ff0,
  TI_DPL_MASK: 3,
  TI_MASK_EVENTS: 4,
  TI_FAST: 8,
  /** HyperStep PV ABI version returned by xen_version(XENVER_version). */
  ABI_VERSION: 0x00010000,
} as const;

/** Errors as negative errno values in EAX (Xen's convention). */
export const HypercallError = { EPERM: -1, EFAULT: -14, EINVAL: -22, ENOSYS: -38 } as const;

/**
 * Flat segment selectors the VMM provides to a paravirtual guest (early Xen values from
 * arch-i386/hypervisor-if.h: GDT entries 256+ are reserved for the hypervisor in every GDT).
 */
export const PvSelectors = { FLAT_RING1_CS: 0x0819, FLAT_RING1_DS: 0x0821, FLAT_RING3_CS: 0x082b, FLAT_RING3_DS: 0x0833 } as const;

/** Layout of the shared-info page (HyperStep's; Xen keeps the same ideas in vcpu_info/shared_info). */
export const SharedInfoLayout = {
  /** u8: 1 while an event is pending and not yet delivered. */
  UPCALL_PENDING: 0x00,
  /** u8: 1 = events masked. This byte is the PV guest's interrupt flag: "cli" is a plain store of 1. */
  UPCALL_MASK: 0x01,
  /** u32: bit n = event pending on port n. */
  EVTCHN_PENDING: 0x04,
  /** u32: bit n = port n masked. */
  EVTCHN_MASK: 0x08,
  /** u64: system time in ns (virtual time), updated by the VMM before every upcall and hypercall return. */
  SYSTEM_TIME_NS: 0x10,
  /** u32: the faulting linear address of the last #PF delivered to the guest (CR2 is privileged at CPL 1; Xen
   * keeps it in vcpu_info.arch.cr2). */
  CR2: 0x18,
  SIZE: 0x1c,
} as const;

const byNumber = new Map<number, HypercallInfo>(HYPERCALLS.map((call) => [call.number, call]));
const byName = new Map<string, HypercallInfo>(HYPERCALLS.map((call) => [call.name, call]));

export function hypercallInfo(number: number): HypercallInfo | undefined {
  return byNumber.get(number);
}

export function hypercallByName(name: string): HypercallInfo | undefined {
  return byName.get(name);
}

/** "hypercall 18 console_io" or "hypercall 99 (unknown)". */
export function hypercallLabel(number: number): string {
  return `hypercall ${number} ${byNumber.get(number)?.name ?? '(unknown)'}`;
}
