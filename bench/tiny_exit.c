/* SPDX-License-Identifier: MIT */
/*
 * tiny-exit: a static program that only exits 0 (no libc, no dynamic
 * loader), for benchmarks that need children whose own CPU is negligible,
 * so that the parent's spawning is what they measure (x86-64 Linux only).
 */
void _start(void)
{
    __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
    __builtin_unreachable();
}
