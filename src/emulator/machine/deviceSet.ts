// Builds the recipe's devices in order and keeps typed handles to them, plus their joint saved state.
// Adding a device model means: a DeviceKind in recipe.ts, a case here, and its *State in DeviceSetState.
import type { VirtualClock } from '../hw/contracts';
import type { IrqSink, MachineControl, PortDevice, TimedDevice } from '../devices/device';
import { ApicBus } from '../devices/apicBus';
import { CmosRtc, type CmosRtcState } from '../devices/cmosRtc';
import { BochsShutdown, DebugExit, PostCode, type BochsShutdownState, type DebugExitState, type PostCodeState } from '../devices/debugPorts';
import { Pic8259Pair, type Pic8259PairState } from '../devices/pic8259';
import { Pit8254, type Pit8254State } from '../devices/pit8254';
import type { LocalApicState } from '../devices/localApic';
import { Uart16550, type Uart16550State } from '../devices/uart16550';
import type { MachineRecipe } from './recipe';

export interface DeviceSetState {
  pic?: Pic8259PairState;
  pit?: Pit8254State;
  com1?: Uart16550State;
  cmos?: CmosRtcState;
  debugExit?: DebugExitState;
  post?: PostCodeState;
  bochsShutdown?: BochsShutdownState;
  /** One entry per CPU's local APIC. */
  lapics?: LocalApicState[];
}

export interface DeviceWiring {
  readonly clock: VirtualClock;
  readonly control: MachineControl;
  readonly cyclesPerPitTick: number;
  readonly onSerialByte: (byte: number) => void;
}

/** With no PIC in the recipe, interrupt outputs go nowhere. */
const NO_IRQ: IrqSink = { setIrq: () => {} };

export class DeviceSet {
  pic?: Pic8259Pair;
  pit?: Pit8254;
  com1?: Uart16550;
  cmos?: CmosRtc;
  debugExit?: DebugExit;
  post?: PostCode;
  bochsShutdown?: BochsShutdown;
  /** The CPUs' local APICs behind the shared 0xFEE00000 page (attached to the MMIO bus by the machine). */
  apic?: ApicBus;
  readonly portDevices: PortDevice[] = [];
  readonly timedDevices: TimedDevice[] = [];

  saveState(): DeviceSetState {
    return {
      pic: this.pic?.saveState(),
      pit: this.pit?.saveState(),
      com1: this.com1?.saveState(),
      cmos: this.cmos?.saveState(),
      debugExit: this.debugExit?.saveState(),
      post: this.post?.saveState(),
      bochsShutdown: this.bochsShutdown?.saveState(),
      ...(this.apic ? { lapics: this.apic.saveState() } : {}),
    };
  }

  loadState(state: DeviceSetState): void {
    if (state.pit) this.pit?.loadState(state.pit);
    if (state.com1) this.com1?.loadState(state.com1);
    if (state.cmos) this.cmos?.loadState(state.cmos);
    if (state.debugExit) this.debugExit?.loadState(state.debugExit);
    if (state.post) this.post?.loadState(state.post);
    if (state.bochsShutdown) this.bochsShutdown?.loadState(state.bochsShutdown);
    if (state.pic) this.pic?.loadState(state.pic); // it holds the IRQ line levels of the others
    if (state.lapics) this.apic?.loadState(state.lapics); // after the PIC: its LINT0 input is the PIC
  }
}

export function buildDevices(recipe: MachineRecipe, wiring: DeviceWiring): DeviceSet {
  const set = new DeviceSet();
  const irqs = (): IrqSink => set.pic ?? NO_IRQ;
  const memoryKiB = recipe.memoryMiB * 1024;
  const cyclesPerSecond = wiring.cyclesPerPitTick * 1_193_182;
  for (const kind of recipe.devices) {
    switch (kind) {
      case 'pic':
        set.pic = new Pic8259Pair();
        set.portDevices.push(set.pic);
        break;
      case 'pit':
        set.pit = new Pit8254(wiring.clock, irqs(), wiring.cyclesPerPitTick);
        set.portDevices.push(set.pit);
        set.timedDevices.push(set.pit);
        break;
      case 'com1':
        set.com1 = new Uart16550(irqs());
        set.com1.onTransmit = wiring.onSerialByte;
        set.portDevices.push(set.com1);
        break;
      case 'cmos':
        set.cmos = new CmosRtc(wiring.clock, irqs(), cyclesPerSecond, recipe.rtcEpochSeconds, memoryKiB);
        set.portDevices.push(set.cmos);
        set.timedDevices.push(set.cmos);
        break;
      case 'debug-exit':
        set.debugExit = new DebugExit(wiring.control);
        set.portDevices.push(set.debugExit);
        break;
      case 'post':
        set.post = new PostCode();
        set.portDevices.push(set.post);
        break;
      case 'bochs-shutdown':
        set.bochsShutdown = new BochsShutdown(wiring.control);
        set.portDevices.push(set.bochsShutdown);
        break;
      case 'lapic':
        // After the PIC when both are listed (the BSP's LINT0 is the PIC's INTR); without one, LINT0 sees nothing.
        set.apic = new ApicBus(wiring.clock, recipe.vcpus ?? 1, set.pic ?? null);
        set.timedDevices.push(...set.apic.apics);
        break;
    }
  }
  return set;
}
