package org.sls.slsd.control;

/**
 * Who sent a request, from the socket's peer credentials ({@code SO_PEERCRED}), and on which
 * connection. Immutable.
 *
 * @param uid        the peer's user id
 * @param user       the peer's user name as the kernel reported it
 * @param pid        the peer's process id as the kernel recorded it at connect time; 0 when unknown
 * @param connection the inode of slsd's end of the connection (its peer is the caller's socket);
 *                   0 when unknown
 * @param requestId  the id of the request being served; 0 outside a request
 */
public record Caller(int uid, String user, int pid, long connection, long requestId) {
    /** A caller known only by its user (tests, and connections whose fd slsd cannot see). */
    public Caller(int uid, String user) {
        this(uid, user, 0, 0, 0);
    }

    /** Root may do anything; others act only on their own processes. */
    public boolean isRoot() {
        return uid == 0;
    }

    /** The same caller, serving request {@code id}. */
    public Caller withRequest(long id) {
        return new Caller(uid, user, pid, connection, id);
    }
}
