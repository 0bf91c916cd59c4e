//! `/bin/cntvct` of the guest ramdisk: a static arm64 Linux program of 128 bytes of code
//! that prints the architected virtual counter and its frequency, `"<CNTVCT_EL0>
//! <CNTFRQ_EL0>\n"` in decimal, and exits 0. The ramdisk's `/init` runs it as it starts and
//! after a first `date`, so the boot time benchmark can read, from the guest itself, how far
//! the machine's clock had come: with CNTVOFF_EL2 = 0 (QEMU without EL2, or a VMM that
//! sets it to 0) the counter counts from machine start.
//!
//! The code is assembled here from its instruction words (the assembly beside each, as
//! `llvm-mc -triple=aarch64` encodes it), so building the ramdisk needs no cross toolchain.
//! Changing it means bumping `RAMDISK_LAYOUT`.

/// Where the program is loaded (one read-execute segment: the ELF header, the program
/// header, then the code).
const BASE: u64 = 0x40_0000;
/// ELF header and one program header.
const HEADERS: usize = 64 + 56;

/// The program's code, from the entry point on.
const CODE: [u32; 32] = [
    0xd503_3fdf, //     isb                     // read the counter after what came before
    0xd53b_e053, //     mrs  x19, cntvct_el0
    0xd53b_e014, //     mrs  x20, cntfrq_el0
    0xd101_03ff, //     sub  sp, sp, #64        // a buffer on the stack, filled from its end
    0x9101_03e1, //     add  x1, sp, #64
    0x5280_0143, //     mov  w3, #10            // '\n'
    0x381f_fc23, //     strb w3, [x1, #-1]!
    0xaa14_03e0, //     mov  x0, x20            // the frequency, last digit first
    0xd280_014a, //     mov  x10, #10
    0x9aca_0802, // 1:  udiv x2, x0, x10
    0x9b0a_8043, //     msub x3, x2, x10, x0
    0x9100_c063, //     add  x3, x3, #48        // '0'
    0x381f_fc23, //     strb w3, [x1, #-1]!
    0xaa02_03e0, //     mov  x0, x2
    0xb5ff_ff60, //     cbnz x0, 1b
    0x5280_0403, //     mov  w3, #32            // ' '
    0x381f_fc23, //     strb w3, [x1, #-1]!
    0xaa13_03e0, //     mov  x0, x19            // the count
    0x9aca_0802, // 2:  udiv x2, x0, x10
    0x9b0a_8043, //     msub x3, x2, x10, x0
    0x9100_c063, //     add  x3, x3, #48
    0x381f_fc23, //     strb w3, [x1, #-1]!
    0xaa02_03e0, //     mov  x0, x2
    0xb5ff_ff60, //     cbnz x0, 2b
    0x9101_03e2, //     add  x2, sp, #64        // length = end - x1
    0xcb01_0042, //     sub  x2, x2, x1
    0xd280_0020, //     mov  x0, #1             // write(1, x1, x2)
    0xd280_0808, //     mov  x8, #64
    0xd400_0001, //     svc  #0
    0xd280_0000, //     mov  x0, #0             // exit(0)
    0xd280_0ba8, //     mov  x8, #93
    0xd400_0001, //     svc  #0
];

/// The program as a static ELF64 executable for aarch64 Linux.
pub fn elf() -> Vec<u8> {
    let size = (HEADERS + CODE.len() * 4) as u64;
    let mut out = Vec::with_capacity(size as usize);
    // ELF header.
    out.extend_from_slice(b"\x7fELF");
    out.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little endian, version 1, System V ABI
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out.extend_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    out.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    out.extend_from_slice(&(BASE + HEADERS as u64).to_le_bytes()); // entry
    out.extend_from_slice(&64u64.to_le_bytes()); // program headers right after this one
    out.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    out.extend_from_slice(&64u16.to_le_bytes()); // ELF header size
    out.extend_from_slice(&56u16.to_le_bytes()); // program header size
    out.extend_from_slice(&1u16.to_le_bytes()); // one program header
    out.extend_from_slice(&64u16.to_le_bytes()); // section header size
    out.extend_from_slice(&[0; 4]); // no section headers, no string table
    // The one PT_LOAD segment: the whole file, read and execute.
    out.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    out.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    out.extend_from_slice(&0u64.to_le_bytes()); // file offset
    out.extend_from_slice(&BASE.to_le_bytes()); // virtual address
    out.extend_from_slice(&BASE.to_le_bytes()); // physical address
    out.extend_from_slice(&size.to_le_bytes()); // file size
    out.extend_from_slice(&size.to_le_bytes()); // memory size
    out.extend_from_slice(&0x1_0000u64.to_le_bytes()); // alignment (64 KiB pages work too)
    for word in CODE {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_static_aarch64_executable() {
        let elf = elf();
        assert!(super::super::is_aarch64_elf(&elf));
        assert_eq!(elf.len(), HEADERS + 128);
        let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap());
        let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap());
        assert_eq!(u16_at(16), 2, "ET_EXEC");
        assert_eq!(u64_at(24), BASE + 120, "entry at the code");
        assert_eq!((u64_at(32), u16_at(54), u16_at(56)), (64, 56, 1));
        assert_eq!((u64_at(64 + 16), u64_at(64 + 32)), (BASE, elf.len() as u64));
        // The code ends with the exit system call.
        assert_eq!(elf[elf.len() - 4..], [0x01, 0x00, 0x00, 0xd4]);
    }
}
