// One-off helper kept for reference: writes the `contributes` block of package.json. Edit here, run
// `node scripts/manifest-contributes.mjs`, commit both. (The launch schema is long; JSON is easier to keep
// consistent when generated from one place.)
import { readFileSync, writeFileSync } from 'node:fs';

const techniques = ['native', 'trap-and-emulate', 'binary-translation', 'paravirtual', 'hardware-assisted'];
const techniqueDocs = [
  'No VMM: the guest kernel runs in ring 0 on the emulated machine. The reference every other technique is compared to.',
  'Full virtualization by trap-and-emulate: the guest kernel is deprivileged to ring 1; privileged instructions fault (#GP) into the VMM, which emulates them. Sensitive-but-unprivileged instructions (POPF, PUSHF, SGDT, SIDT, SMSW…) visibly break equivalence.',
  'Full virtualization by dynamic binary translation of guest kernel code (VMware style): sensitive instructions are rewritten in a translation cache; user code runs directly.',
  'Paravirtualization (Xen style): a modified guest calls the VMM with hypercalls (int 0x82).',
  'Hardware assist (Intel VT-x): the unmodified guest runs in VMX non-root mode; sensitive operations cause VM exits with SDM exit reasons.',
];
const architectures = ['hosted', 'monolithic', 'microkernel'];
const architectureDocs = [
  'Type 2 (VMware Workstation / VirtualBox): the VMM world-switches to a host OS whose driver hands I/O to a user-level device process.',
  'Type 1, monolithic (ESXi / KVM-like): device models and drivers live inside the VMM.',
  'Type 1, microkernel (Xen dom0 / Hyper-V parent): device back-ends live in a management OS; the VMM forwards I/O requests to it.',
];
// The controls the hardware-assisted engine implements (src/emulator/vmm/hardwareAssist/controls.ts parses
// exactly these; [description, default] with the defaults of its DEFAULT_CONTROLS). Without EPT the VMM keeps
// CR3 virtual, so CR3-load/store exiting is then always on whatever these say (SDM Vol. 3C 25.6.2, 25.6.11).
const vmxBooleanControls = {
  hltExiting: ['Primary processor-based control bit 7: HLT causes a VM exit (reason 12).', true],
  rdtscExiting: ['Primary processor-based control bit 12: RDTSC causes a VM exit (reason 16).', false],
  invlpgExiting: ['Primary processor-based control bit 9: INVLPG causes a VM exit (reason 14).', false],
  movDrExiting: ['Primary processor-based control bit 23: MOV to/from DRn causes a VM exit (reason 29).', false],
  descriptorTableExiting: ['Secondary processor-based control bit 2: LGDT/LIDT/SGDT/SIDT (reason 46) and LLDT/LTR/SLDT/STR (reason 47) exit.', false],
  externalInterruptExiting: ['Pin-based control bit 0: external interrupts cause VM exits (reason 1).', false],
  ept: ['Secondary processor-based control bit 1, "enable EPT" (SDM Vol. 3C 25.6.11), with bit 7 "unrestricted guest": guest-physical memory is mapped by EPT tables the VMM fills lazily (an EPT violation, reason 48, on the first touch of each 4-KiB page), and a paging guest keeps its own CR3 and page faults. Off: the VMM virtualizes CR3 and runs a paging guest on shadow page tables, so every guest #PF and CR3 load exits.', true],
  cr3LoadExiting: ['Primary processor-based control bit 15 (SDM Vol. 3C 25.6.2): MOV to CR3 causes a VM exit (reason 28, control-register access). Only matters with ept on; without EPT CR3 loads always exit.', false],
  cr3StoreExiting: ['Primary processor-based control bit 16 (SDM Vol. 3C 25.6.2): MOV from CR3 causes a VM exit (reason 28, control-register access). Only matters with ept on; without EPT CR3 reads always exit.', false],
};

const launchProperties = {
  program: { type: 'string', description: 'The guest to run: a NASM-syntax .asm file (assembled in memory with its %includes), or a prebuilt Multiboot ELF32 kernel or flat binary.', default: '${file}' },
  stopOnEntry: { type: 'boolean', description: 'Stop at the guest entry point (the Multiboot entry) before executing anything.', default: true },
  technique: { type: 'string', enum: techniques, enumDescriptions: techniqueDocs, description: 'How the embedded VMM virtualizes the CPU.', default: 'trap-and-emulate' },
  architecture: { type: 'string', enum: architectures, enumDescriptions: architectureDocs, description: 'Where the VMM and the device drivers live, and so which path every guest I/O request travels.', default: 'monolithic' },
  costModel: { type: 'string', enum: ['p4-2006', 'modern'], enumDescriptions: ['Pentium 4 era figures (Adams & Agesen, ASPLOS 2006; Sugerman et al., USENIX 2001).', 'A recent Intel core (VM exit/entry round trips in the hundreds of cycles).'], description: 'The cycle-cost preset used to account every event per layer.', default: 'p4-2006' },
  costOverrides: { type: 'object', additionalProperties: { type: 'number', minimum: 0 }, description: 'Override individual cost-model parameters in cycles, e.g. { "vmExit": 1200, "worldSwitch": 8000 }.', default: {} },
  memoryMB: { type: 'integer', minimum: 1, maximum: 512, description: 'Guest physical memory in MiB.', default: 32 },
  vcpus: { type: 'integer', minimum: 1, maximum: 8, description: 'Number of virtual CPUs (one debugger thread each).', default: 1 },
  cwd: { type: 'string', description: 'Working directory for resolving relative paths (program, include paths).', default: '${workspaceFolder}' },
  includePaths: { type: 'array', items: { type: 'string' }, description: 'Extra %include search directories (NASM -I).', default: [] },
  defines: { type: 'object', additionalProperties: { type: ['string', 'number'] }, description: 'Preprocessor definitions (NASM -D name=value).', default: {} },
  vmxControls: {
    type: 'object',
    description: 'VT-x controls for the built-in VMM of the hardware-assisted technique (Intel SDM Vol. 3C, 25.6). Unset controls take the VMM defaults.',
    properties: {
      ...Object.fromEntries(Object.entries(vmxBooleanControls).map(([k, [description, value]]) => [k, { type: 'boolean', description, default: value }])),
      io: { type: 'string', enum: ['all', 'bitmap', 'none'], enumDescriptions: ['Unconditional I/O exiting (primary control bit 24): every IN/OUT/INS/OUTS exits (reason 30).', 'Use I/O bitmaps (bit 25): only the ports in exitingPorts exit.', 'No I/O exits: the guest reaches the ports directly.'], description: 'How guest port I/O exits.', default: 'all' },
      exitingPorts: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 65535 }, description: "With io = 'bitmap': the ports whose accesses exit (the bits set in I/O bitmaps A/B).", default: [] },
      exceptionBitmap: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'Exception bitmap: bit n set makes guest exception vector n cause a VM exit (reason 0).', default: 0 },
    },
    additionalProperties: false,
  },
  exceptionBitmap: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'VT-x exception bitmap (same as vmxControls.exceptionBitmap): bit n set makes guest exception vector n cause a VM exit (reason 0).', default: 0 },
  serialInput: { type: 'string', description: 'Bytes fed to the guest COM1 receiver at start (\\n for Enter).', default: '' },
  instructionLimit: { type: 'integer', minimum: 0, description: 'Stop the guest after this many instructions (0 = no limit).', default: 0 },
  outputLimitBytes: { type: 'integer', minimum: 0, description: 'Stop the guest when its serial output exceeds this many bytes (0 = no limit).', default: 1048576 },
  reverseHistoryMB: { type: 'integer', minimum: 0, description: 'Memory budget for reverse debugging (snapshots + replay); 0 disables step back.', default: 64 },
  trace: { type: 'boolean', description: 'Log every layer transition (trap, exit, hypercall, world switch, I/O hop) to the Debug Console.', default: false },
};

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
pkg.activationEvents = ['onDebugResolve:hyperstep', 'onDebugDynamicConfigurations:hyperstep', 'onLanguage:hyperstep-nasm'];
pkg.contributes = {
  configuration: {
    title: 'HyperStep',
    properties: {
      'hyperstep.includePaths': {
        type: 'array',
        items: { type: 'string' },
        default: [],
        markdownDescription: 'Extra `%include` directories for live diagnostics, like NASM `-I`. Relative paths resolve against the workspace folder. Debug sessions take theirs from the launch configuration\'s `includePaths`.',
      },
    },
  },
  languages: [
    {
      id: 'hyperstep-nasm',
      aliases: ['NASM x86 (HyperStep)', 'hyperstep-nasm'],
      extensions: ['.asm', '.inc'],
      configuration: './language-configuration.json',
    },
  ],
  grammars: [{ language: 'hyperstep-nasm', scopeName: 'source.asm.nasm.hyperstep', path: './syntaxes/hyperstep-nasm.tmLanguage.json' }],
  // The language server's semantic tokens (type keyword + a virtualization-class modifier) replace the
  // grammar's colours; map them back to the grammar's scopes so themes still set the classes apart.
  semanticTokenScopes: [
    {
      language: 'hyperstep-nasm',
      scopes: {
        keyword: ['keyword.other.instruction.hyperstep-nasm'],
        'keyword.privileged': ['keyword.control.privileged.instruction.hyperstep-nasm'],
        'keyword.ioSensitive': ['keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm'],
        'keyword.sensitive': ['support.function.sensitive.instruction.hyperstep-nasm'],
        'keyword.vmx': ['support.type.vmx.instruction.hyperstep-nasm'],
        'keyword.hypercall': ['support.type.vmx.instruction.hyperstep-nasm'],
      },
    },
  ],
  snippets: [{ language: 'hyperstep-nasm', path: './snippets/hyperstep-nasm.code-snippets' }],
  breakpoints: [{ language: 'hyperstep-nasm' }],
  // The views of issue 8 (src/extension/views): commands, the two inspection trees in Run and Debug, and the
  // Getting Started walkthrough (open a sample → F5 → the first trap in the call stack → the activity view).
  commands: [
    { command: 'hyperstep.showActivity', title: 'Show VMM Activity', category: 'HyperStep', icon: '$(pulse)' },
    { command: 'hyperstep.compareTechniques', title: 'Compare Techniques', category: 'HyperStep', icon: '$(graph)' },
    { command: 'hyperstep.showLayers', title: 'Show Layers Diagram', category: 'HyperStep', icon: '$(layers)' },
    { command: 'hyperstep.openSample', title: 'Open the POPF Sample', category: 'HyperStep' },
    { command: 'hyperstep.openTranslation', title: 'Open Translation', category: 'HyperStep' },
  ],
  menus: {
    commandPalette: [
      { command: 'hyperstep.showActivity', when: 'debugType == hyperstep' },
      { command: 'hyperstep.compareTechniques', when: 'debugType == hyperstep' },
      { command: 'hyperstep.showLayers', when: 'debugType == hyperstep' },
      { command: 'hyperstep.openTranslation', when: 'false' },
    ],
    'debug/toolBar': [{ command: 'hyperstep.showActivity', when: 'debugType == hyperstep', group: 'navigation@100' }],
  },
  views: {
    debug: [
      { id: 'hyperstep.translationCache', name: 'Translation Cache', when: 'debugType == hyperstep' },
      { id: 'hyperstep.vmcs', name: 'VMCS', when: 'debugType == hyperstep' },
    ],
  },
  walkthroughs: [
    {
      id: 'hyperstep.gettingStarted',
      title: 'Get started with HyperStep',
      description: 'Run a guest kernel under an embedded hypervisor and watch it trap into the VMM.',
      steps: [
        {
          id: 'openSample',
          title: 'Open a sample guest',
          description: 'The POPF lesson: a kernel that disables interrupts the way real code does, and loses them under trap-and-emulate.\n[Open the POPF sample](command:hyperstep.openSample)',
          media: { markdown: 'media/walkthrough/open-sample.md' },
          completionEvents: ['onCommand:hyperstep.openSample'],
        },
        {
          id: 'startDebugging',
          title: 'Press F5',
          description: 'With the .asm file in the editor, F5 assembles it in memory and boots it under trap-and-emulate, stopped at its entry point. No launch.json needed.\n[Start debugging](command:workbench.action.debug.start)',
          media: { markdown: 'media/walkthrough/start-debugging.md' },
          completionEvents: ['onContext:inDebugMode'],
        },
        {
          id: 'firstTrap',
          title: 'See the first trap in the call stack',
          description: 'Tick "VMM traps" in the Breakpoints view and continue: the guest stops where the VMM took over, and the Call Stack shows the guest frame, the trap separator and the VMM frame.',
          media: { markdown: 'media/walkthrough/first-trap.md' },
          completionEvents: ['onView:workbench.debug.callStackView'],
        },
        {
          id: 'activity',
          title: 'Open the VMM activity view',
          description: 'Every transition as a timeline, a histogram by reason and cycles per layer; click an event to jump to the guest line. Then compare the techniques side by side.\n[Show VMM Activity](command:hyperstep.showActivity)\n[Compare Techniques](command:hyperstep.compareTechniques)',
          media: { markdown: 'media/walkthrough/activity.md' },
          completionEvents: ['onCommand:hyperstep.showActivity'],
        },
      ],
    },
  ],
  debuggers: [
    {
      type: 'hyperstep',
      label: 'HyperStep (guest under an embedded VMM)',
      languages: ['hyperstep-nasm'],
      configurationAttributes: { launch: { required: ['program'], properties: launchProperties } },
      initialConfigurations: [
        { type: 'hyperstep', request: 'launch', name: 'HyperStep: trap-and-emulate', program: '${file}', stopOnEntry: true, technique: 'trap-and-emulate', architecture: 'monolithic', costModel: 'p4-2006' },
      ],
      configurationSnippets: techniques.map((t, i) => ({
        label: `HyperStep: ${t}`,
        description: techniqueDocs[i],
        body: { type: 'hyperstep', request: 'launch', name: `HyperStep: ${t}`, program: '^"\\${file}"', stopOnEntry: true, technique: t, architecture: 'monolithic' },
      })),
    },
  ],
};
writeFileSync('package.json', JSON.stringify(pkg, null, 2) + '\n');
