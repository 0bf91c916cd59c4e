/*
 * memcpy for the kernel. The compiler calls it for every move of a value
 * larger than a few words (a 40-byte capability, say); the generic one
 * copies with byte loops around a word loop. Here copies whose addresses
 * and length are multiples of 8, which are all the kernel's own, move 16
 * bytes per step; anything else goes byte by byte.
 */
.section .text.memcpy, "ax"
.global memcpy
memcpy:
    orr x3, x0, x1
    orr x3, x3, x2
    mov x4, x0
    tst x3, #7
    b.ne 3f
    cmp x2, #16
    b.lo 1f
0:  ldp x5, x6, [x1], #16
    stp x5, x6, [x4], #16
    sub x2, x2, #16
    cmp x2, #16
    b.hs 0b
1:  cbz x2, 2f
    ldr x5, [x1]
    str x5, [x4]
2:  ret
3:  cbz x2, 2b
4:  ldrb w5, [x1], #1
    strb w5, [x4], #1
    subs x2, x2, #1
    b.ne 4b
    ret
