package org.sls.slos;

/** Placeholder, replaced below. */
final class EpochDeletion {
    private final Engine eng;

    EpochDeletion(Engine eng) {
        this.eng = eng;
    }

    void delete(String partition, long epoch) {
        throw new StoreException(StoreException.Kind.INVALID, "not yet");
    }
}
