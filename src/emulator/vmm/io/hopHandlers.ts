// The handlers that run in the other layers of an I/O request's path (issue 5: "the machine can pause between
// steps … same for the management-OS and host-OS hops of an I/O request"). Each architecture's path of
// transitions (../architectures.ts ioPath, unchanged) is split into handlers with named steps, each running
// in the layer it belongs to; a step records the transitions it causes and one step performs the device
// access itself. Sources for the shapes: virtualization.md §9 — Xen HVM ioreq (Chisnall, "The Definitive
// Guide to the Xen Hypervisor", ch. 6/8: event channel, ioreq page, device model in dom0); VMware
// Workstation's hosted I/O path (Sugerman et al., USENIX ATC 2001, §3: world switch, VMM driver, VMApp
// system call, back through the ioctl); ESXi/KVM-style device models inside the VMM.

import type { Architecture, Layer } from '../layers';

/** What a hop step does when it runs, in order: record hop `n` of the path, or perform the device access. */
export type HopAction = number | 'access';

export interface HopStepPlan {
  readonly name: string;
  readonly actions: readonly HopAction[];
}

export interface HopHandlerPlan {
  readonly name: string;
  readonly layer: Layer;
  readonly steps: readonly HopStepPlan[];
}

export interface IoPathPlan {
  /** Hops recorded by the VMM's delegating step itself (it leaves the VMM: ioreq notification, world switch). */
  readonly entry: readonly number[];
  /** The handlers the request runs through, in order, until it is back in the VMM. */
  readonly handlers: readonly HopHandlerPlan[];
}

/**
 * The handlers of one access `what` ("out dx, al", "console_io write 5 bytes") under an architecture. The hop
 * numbers index ioPath(architecture, what); every hop is recorded exactly once, in path order.
 */
export function ioPathPlan(architecture: Architecture, what: string): IoPathPlan {
  switch (architecture) {
    case 'monolithic':
      return {
        entry: [],
        handlers: [
          {
            name: `device model in the VMM: ${what}`,
            layer: 'vmm',
            steps: [
              { name: 'find the virtual device model of the port', actions: [] },
              { name: `device model performs: ${what}`, actions: [0, 'access', 1] },
            ],
          },
        ],
      };
    case 'microkernel':
      return {
        entry: [0],
        handlers: [
          {
            name: `device-model back end: ${what}`,
            layer: 'management-os',
            steps: [
              { name: 'receive the event-channel notification', actions: [] },
              { name: `device model performs: ${what}`, actions: [1, 'access', 2] },
              { name: 'write the ioreq response', actions: [] },
              { name: 'notify the VMM over the event channel', actions: [3] },
            ],
          },
        ],
      };
    case 'hosted':
      return {
        entry: [0],
        handlers: [
          {
            name: `VMM driver, world switch in: ${what}`,
            layer: 'host-os-kernel',
            steps: [
              { name: 'restore the host world', actions: [] },
              { name: 'return from the ioctl to the VM process', actions: [1] },
            ],
          },
          {
            name: `VM process: ${what}`,
            layer: 'host-user-process',
            steps: [
              { name: 'read the request the VMM passed up', actions: [] },
              { name: 'issue the host system call', actions: [2] },
            ],
          },
          {
            name: `host kernel driver: ${what}`,
            layer: 'host-os-kernel',
            steps: [
              { name: `device driver performs: ${what}`, actions: [3, 'access', 4] },
              { name: 'return from the system call', actions: [5] },
            ],
          },
          {
            name: 'VM process: request done',
            layer: 'host-user-process',
            steps: [{ name: 'ioctl back into the VMM driver', actions: [6] }],
          },
          {
            name: 'VMM driver, world switch out',
            layer: 'host-os-kernel',
            steps: [{ name: 'world switch back to the VMM', actions: [7] }],
          },
        ],
      };
  }
}
