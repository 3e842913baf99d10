package org.sls.slsd.control;

/**
 * Who sent a request, from the socket's peer credentials ({@code SO_PEERCRED}). Immutable.
 *
 * @param uid  the peer's user id
 * @param user the peer's user name as the kernel reported it
 */
public record Caller(int uid, String user) {
    /** Root may do anything; others act only on their own processes. */
    public boolean isRoot() {
        return uid == 0;
    }
}
