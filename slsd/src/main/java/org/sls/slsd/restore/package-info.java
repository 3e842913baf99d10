/**
 * The restore engine (DESIGN section 4): {@link org.sls.slsd.restore.RestoreEngine#restore} brings
 * the processes of a partition back as of an epoch, returning a {@link org.sls.slsd.restore.RestoreResult}
 * or throwing a {@link org.sls.slsd.restore.RestoreException} whose
 * {@link org.sls.slsd.restore.RestoreException.Kind} the daemon maps to a protocol error.
 *
 * <p>Inside, one {@code RestoreRun} walks the {@link org.sls.slsd.restore.RestoreStep}s for every
 * process together on one thread (the husks' tracer): {@code Checks} refuse before anything exists;
 * a template husk is spawned and emptied; {@code TreeBuilder} clones the husks (clone3 with
 * set_tid) parents first, sessions and groups as {@link org.sls.slsd.restore.Stage}s;
 * {@code MemoryRestorer} moves the vdso, maps every VMA and has {@code PageWriter} fill them from
 * slos with one worker per CPU; {@code StateRestorer} and {@code ThreadRestorer} put back the
 * kernel state, the threads and finally the registers, and let go. Syscalls run in a husk through
 * {@code HuskInjector} and the scratch area every husk inherits from the template.
 */
package org.sls.slsd.restore;
