/**
 * The Linux layer: the only package that calls native code (JNR). {@code LinuxSyscalls} is the
 * package-private binding; the public facades ({@link org.sls.slsd.linux.Linux},
 * {@link org.sls.slsd.linux.Ptrace}, {@link org.sls.slsd.linux.ProcFs},
 * {@link org.sls.slsd.linux.PageMap}, {@link org.sls.slsd.linux.Userfaultfd},
 * {@link org.sls.slsd.linux.SyscallInjector}, {@link org.sls.slsd.linux.Spawner},
 * {@link org.sls.slsd.linux.Reaper}, {@link org.sls.slsd.linux.NativeMemory}) turn -1/errno into
 * {@link org.sls.slsd.linux.NativeException}s that name the call, its argument and the errno.
 *
 * <p>Rules the kernel imposes and every caller must keep:
 * <ul>
 *   <li>A tracee belongs to the <em>thread</em> that seized it: all ptrace calls and waits for it
 *       from that one Java thread.</li>
 *   <li>Never wait for "any child" ({@code waitpid(-1)}): it steals ptrace stops and the JDK's
 *       children. Wait by pid ({@link org.sls.slsd.linux.Ptrace#wait}) or let the
 *       {@link org.sls.slsd.linux.Reaper} reap slsd's own children.</li>
 *   <li>Never start a traced program with {@code ProcessBuilder}: use {@link org.sls.slsd.linux.Spawner}.</li>
 *   <li>Registers restored after injection must be restored from an interrupt stop (as
 *       {@link org.sls.slsd.linux.SyscallInjector#close()} does), so that an interrupted syscall
 *       restarts exactly as the kernel would have restarted it.</li>
 * </ul>
 */
package org.sls.slsd.linux;
