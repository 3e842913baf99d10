package org.sls.slos;

/** Placeholder. */
final class Cleaner {
    record Selection(int max) {
        static Selection forSpace() {
            return new Selection(4);
        }

        static Selection sparse() {
            return new Selection(4);
        }
    }

    record Report(int victims, long pagesMoved, int segmentsFreed) {}

    private final Engine eng;

    Cleaner(Engine eng) {
        this.eng = eng;
    }

    Report clean(Selection s) {
        return new Report(0, 0, 0);
    }
}
