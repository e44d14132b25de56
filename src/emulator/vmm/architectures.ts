// The I/O path of each hypervisor architecture as a chain of transitions (virtualization.md §9): where a
// guest port access goes after it reached the VMM, and how it comes back. Monolithic type 1 (ESXi VMkernel):
// device models inside the VMM. Microkernel type 1 (Xen dom0, Hyper-V root): forwarded as an ioreq through an
// event channel to the management OS's device model, completed by another event. Hosted type 2 (VMware
// Workstation, Sugerman et al. 2001): a world switch to the host, the VMM driver returns to the VM process,
// which performs the access with a host system call, then back through the driver and a world switch.

import type { CostParameter } from './costModel';
import type { Architecture, Layer } from './layers';
import { ioHopReason, worldSwitchReason, type TransitionKind } from './transitions';

export interface PathHop {
  readonly from: Layer;
  readonly to: Layer;
  readonly kind: TransitionKind;
  readonly reason: string;
  /** Cost parameters charged for the hop (summed). */
  readonly costs: readonly CostParameter[];
}

/**
 * The hops of one device access that the VMM could not finish by itself, from the VMM to the device and back
 * to the VMM. `what` names the access ("out 0x3f8", "console_io write 23 bytes").
 */
export function ioPath(architecture: Architecture, what: string): readonly PathHop[] {
  switch (architecture) {
    case 'monolithic':
      return [
        { from: 'vmm', to: 'device', kind: 'io-hop', reason: ioHopReason('vmm', 'device', what), costs: ['virtualDeviceAccess'] },
        { from: 'device', to: 'vmm', kind: 'io-hop', reason: ioHopReason('device', 'vmm', 'done'), costs: [] },
      ];
    case 'microkernel':
      return [
        { from: 'vmm', to: 'management-os', kind: 'io-hop', reason: ioHopReason('vmm', 'management-os', `ioreq + event channel: ${what}`), costs: ['ioHop'] },
        { from: 'management-os', to: 'device', kind: 'io-hop', reason: ioHopReason('management-os', 'device', `back end: ${what}`), costs: ['virtualDeviceAccess'] },
        { from: 'device', to: 'management-os', kind: 'io-hop', reason: ioHopReason('device', 'management-os', 'done'), costs: [] },
        { from: 'management-os', to: 'vmm', kind: 'io-hop', reason: ioHopReason('management-os', 'vmm', 'ioreq completed (event)'), costs: ['ioHop'] },
      ];
    case 'hosted':
      return [
        { from: 'vmm', to: 'host-os-kernel', kind: 'world-switch', reason: worldSwitchReason('vmm', 'host-os-kernel'), costs: ['worldSwitch'] },
        { from: 'host-os-kernel', to: 'host-user-process', kind: 'io-hop', reason: ioHopReason('host-os-kernel', 'host-user-process', `VMM driver returns to the VM process: ${what}`), costs: ['hostSystemCall'] },
        { from: 'host-user-process', to: 'host-os-kernel', kind: 'trap', reason: `host system call write() for ${what}`, costs: ['hostSystemCall'] },
        { from: 'host-os-kernel', to: 'device', kind: 'io-hop', reason: ioHopReason('host-os-kernel', 'device', what), costs: ['virtualDeviceAccess'] },
        { from: 'device', to: 'host-os-kernel', kind: 'io-hop', reason: ioHopReason('device', 'host-os-kernel', 'done'), costs: [] },
        { from: 'host-os-kernel', to: 'host-user-process', kind: 'resume', reason: 'write() returns', costs: [] },
        { from: 'host-user-process', to: 'host-os-kernel', kind: 'io-hop', reason: ioHopReason('host-user-process', 'host-os-kernel', 'ioctl back into the VMM driver'), costs: ['hostSystemCall'] },
        { from: 'host-os-kernel', to: 'vmm', kind: 'world-switch', reason: worldSwitchReason('host-os-kernel', 'vmm'), costs: ['worldSwitch'] },
      ];
  }
}
