/**
 * Resource kinds (issue 6): one {@link org.sls.slsd.resources.FdKind} per fd kind with capture and
 * restore side by side, registered by {@link org.sls.slsd.checkpoint.manifest.FdImage.Kind} in
 * {@link org.sls.slsd.resources.ResourceKinds}. Capture runs with a
 * {@link org.sls.slsd.resources.CaptureContext} per checkpoint (partition pids, --external, objects
 * already met); restore with a {@link org.sls.slsd.resources.RestoreContext} per run, which keeps
 * shared objects as slsd fds and installs them into husks with pidfd_getfd, and retries
 * {@link org.sls.slsd.resources.Outcome#BLOCKED} fds (epoll before its targets). Native calls go
 * through {@code org.sls.slsd.linux.FdCalls}.
 */
package org.sls.slsd.resources;
