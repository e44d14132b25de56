// The privilege layers of a virtualized machine and the launch-level vocabulary around them (technique,
// architecture). Every transition the VMM records goes from one layer to another; the debugger shows each
// layer as a call-stack frame. Pure data: no behaviour beyond small lookups.

/** Every layer that can run code (or, for `device`, respond to it) in one of HyperStep's machines. */
export const LAYERS = [
  'guest-user',
  'guest-kernel',
  'vmm',
  'management-os',
  'host-os-kernel',
  'host-user-process',
  'device',
] as const;
export type Layer = (typeof LAYERS)[number];

/** How the VMM virtualizes the CPU (the `technique` launch option). `native` runs without a VMM. */
export const TECHNIQUES = [
  'native',
  'trap-and-emulate',
  'binary-translation',
  'paravirtual',
  'hardware-assisted',
] as const;
export type Technique = (typeof TECHNIQUES)[number];

/**
 * Where the VMM and the device back-ends live (the `architecture` launch option), orthogonal to technique.
 * virtualization.md §9: monolithic type 1 = ESXi VMkernel; microkernel type 1 = Xen dom0 / Hyper-V root;
 * hosted type 2 = VMware Workstation (Sugerman et al., USENIX ATC 2001).
 */
export const ARCHITECTURES = ['monolithic', 'microkernel', 'hosted'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface LayerInfo {
  readonly layer: Layer;
  /** Short label for call-stack frames and trace columns. */
  readonly title: string;
  /** The IA-32 privilege level the layer's code runs at, when that is fixed; null when it depends. */
  readonly ring: number | null;
  readonly description: string;
}

export const LAYER_INFO: Readonly<Record<Layer, LayerInfo>> = {
  'guest-user': {
    layer: 'guest-user',
    title: 'guest user',
    ring: 3,
    description: 'Guest applications at CPL 3, under every technique (they run directly on the CPU).',
  },
  'guest-kernel': {
    layer: 'guest-kernel',
    title: 'guest kernel',
    ring: null,
    description:
      'The guest OS kernel: CPL 0 natively and under hardware assist (non-root), CPL 1 under trap-and-emulate and paravirtualization (ring compression), translated code under binary translation.',
  },
  vmm: {
    layer: 'vmm',
    title: 'VMM',
    ring: 0,
    description: 'The virtual machine monitor: owns the real GDT/IDT/TSS (or the VMCS) and handles every trap, exit and hypercall.',
  },
  'management-os': {
    layer: 'management-os',
    title: 'management OS',
    ring: 0,
    description: 'Microkernel architecture: the privileged domain (Xen dom0, Hyper-V root partition) holding real drivers and device back-ends.',
  },
  'host-os-kernel': {
    layer: 'host-os-kernel',
    title: 'host OS kernel',
    ring: 0,
    description: 'Hosted architecture: the host operating system and the VMM driver that world-switches to and from the VMM.',
  },
  'host-user-process': {
    layer: 'host-user-process',
    title: 'host user process',
    ring: 3,
    description: 'Hosted architecture: the user-level VM process (VMware VMApp, VirtualBox VM process) that performs I/O with host system calls.',
  },
  device: {
    layer: 'device',
    title: 'device',
    ring: null,
    description: 'The (virtual or physical) device model that finally performs a port or memory-mapped access.',
  },
};

/** The layers that exist in a machine with the given architecture; native machines have no VMM at all. */
export function layersOf(technique: Technique, architecture: Architecture): readonly Layer[] {
  if (technique === 'native') return ['guest-user', 'guest-kernel', 'device'];
  switch (architecture) {
    case 'monolithic':
      return ['guest-user', 'guest-kernel', 'vmm', 'device'];
    case 'microkernel':
      return ['guest-user', 'guest-kernel', 'vmm', 'management-os', 'device'];
    case 'hosted':
      return ['guest-user', 'guest-kernel', 'vmm', 'host-os-kernel', 'host-user-process', 'device'];
  }
}

/** The CPL at which the guest kernel runs under a technique (virtualization.md §1, §5; SDM Vol. 3C 25.1). */
export function guestKernelRing(technique: Technique): number {
  return technique === 'trap-and-emulate' || technique === 'paravirtual' ? 1 : 0;
}

/** Which guest layer is running, from the real CPL and the technique (CPL 3 is always guest user). */
export function guestLayerAtCpl(cpl: number): Layer {
  return cpl === 3 ? 'guest-user' : 'guest-kernel';
}

export function isLayer(value: unknown): value is Layer {
  return typeof value === 'string' && (LAYERS as readonly string[]).includes(value);
}

export function isTechnique(value: unknown): value is Technique {
  return typeof value === 'string' && (TECHNIQUES as readonly string[]).includes(value);
}

export function isArchitecture(value: unknown): value is Architecture {
  return typeof value === 'string' && (ARCHITECTURES as readonly string[]).includes(value);
}
