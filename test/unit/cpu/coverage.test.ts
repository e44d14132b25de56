// Every form of the shared instruction table has an executor (one source of truth: a form the table adds
// without a handler fails here, instead of silently raising #UD at run time), and bytes the table does not
// list raise #UD as guest data. Also real mode: 16-bit code, segment arithmetic and the IVT.
import { strict as assert } from 'node:assert';
import '../../../src/emulator/cpu/dispatch';
import { HANDLERS } from '../../../src/emulator/cpu/exec/registry';
import { loadRealModeSegment } from '../../../src/emulator/cpu/segments';
import { EIP, IDTR_BASE, IDTR_LIMIT, SEG_RIGHTS, Seg } from '../../../src/emulator/cpu/stateLayout';
import { INSTRUCTION_FORMS } from '../../../src/emulator/isa/table';
import { bootFlat, CODE_BASE, createMachine, nasm, read32, setGate } from './harness';

describe('cpu coverage of the instruction table', () => {
  it('has a handler for every non-VMX form (VMX forms go to the VMX hook)', () => {
    const missing = INSTRUCTION_FORMS.filter((form) => form.category !== 'vmx' &&
      HANDLERS[((form.map * 256 + form.opcode) << 3) | (form.modrmReg >= 0 ? form.modrmReg : 0)] === undefined);
    assert.deepEqual(missing.map((form) => `${form.sdm} (${form.opcodeText})`), []);
    assert.ok(INSTRUCTION_FORMS.length > 300);
  });

  for (const [name, bytes] of [['x87 escape D8 C0', [0xd8, 0xc0]], ['0F 04', [0x0f, 0x04]], ['LOCK on a register ADD', [0xf0, 0x01, 0xc0]], ['MOV to CS', [0x8e, 0xc8]]] as const) {
    it(`${name} raises #UD at the instruction`, () => {
      const m = createMachine();
      bootFlat(m, new Uint8Array(bytes));
      const handler = nasm('mov eax, [esp]\nmov [0x3000], eax\ncli\nhlt', CODE_BASE + 0x100);
      m.ram.set(handler, CODE_BASE + 0x100);
      setGate(m.ram, 6, CODE_BASE + 0x100);
      assert.equal(m.cpu.run(100), 'halt');
      assert.equal(read32(m.ram, 0x3000), CODE_BASE);
    });
  }

  it('runs 16-bit real-mode code: segment * 16 addressing and INT through the IVT', () => {
    const m = createMachine();
    const s = m.cpu.s;
    const code = nasm(`bits 16
      mov ax, 0x1234
      mov ds, ax
      mov word [0x10], 0xbeef
      int 0x21
      mov [0x12], bx
      hlt
    handler:
      mov bx, 0x5a5a
      iret`, 0x7c00);
    m.ram.set(code, 0x7c00);
    // IVT entry 0x21 → 0000:handler
    const handlerOffset = 0x7c00 + code.length - 4;
    m.ram[0x21 * 4] = handlerOffset & 0xff;
    m.ram[0x21 * 4 + 1] = handlerOffset >> 8;
    m.cpu.reset();
    loadRealModeSegment(m.cpu, Seg.CS, 0);
    s[SEG_RIGHTS + Seg.CS] &= ~8; // 16-bit code
    s[EIP] = 0x7c00;
    s[4] = 0x7000;
    s[IDTR_BASE] = 0;
    s[IDTR_LIMIT] = 0x3ff;
    assert.equal(m.cpu.run(100), 'halt');
    assert.equal(m.ram[0x12350]! | (m.ram[0x12351]! << 8), 0xbeef);
    assert.equal(m.ram[0x12352]! | (m.ram[0x12353]! << 8), 0x5a5a);
  });
});
