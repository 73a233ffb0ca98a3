/*
 * The CCS decision table of specs/ccs.toml in Promela, written by hand from the table
 * (benchmarks/handwritten.py is the same table in Python): the anchor SPIN gives
 * benchmarks/bench_explore.py. One service, instance names 0..N-1, one parameter name whose
 * value is 0 (absent) or 1..K; every request of `mostate explore --instances N --values K`
 * (both actors, every operation) is one option of the loop, taken in one indivisible step
 * (d_step), so SPIN stores exactly the states the explorer stores.
 *
 * A refused request changes nothing, so it is left out (its option is not executable): it
 * would only add a step from a state to itself. Queries (get, get_active, in_use) change
 * nothing either. The user's requests are kept, with the checks that refuse them, although
 * every state they reach a server request reaches too.
 *
 *   spin -a -DN=3 -DK=2 ccs.pml && gcc -O2 -DSAFETY -DNOREDUCE -o pan pan.c && ./pan -m100000
 *
 * N is 1..8, K is 1..4.
 */

#ifndef N
#define N 3
#endif
#ifndef K
#define K 2
#endif

bit ex[N];   /* the instance exists */
bit ac[N];   /* Active */
bit df[N];   /* Default */
bit lk[N];   /* Locked */
byte pv[N];  /* the value of parameter p: 0 when absent */

hidden byte j;        /* a loop counter, not part of the state */
hidden byte blocked;  /* a user's set_active/set_default true meets another locked holder */

/* set_active / set_default true: the flag moves to instance i (cleared everywhere else) */
#define TAKE(f, i) j = 0; do :: j < N -> f[j] = 0; j++ :: else -> break od; f[i] = 1; j = 0

/* whether another instance than i holds flag f and is Locked (a user may not take it) */
#define HELD(f, i) blocked = 0; j = 0; \
  do :: j < N -> if :: j != i && f[j] && lk[j] -> blocked = 1 :: else -> skip fi; j++ \
     :: else -> break od; j = 0

#define REMOVE(i) ex[i] = 0; ac[i] = 0; df[i] = 0; lk[i] = 0; pv[i] = 0

#if K == 1
#define REPLACE(g, i) :: d_step { g -> pv[i] = 1 }
#elif K == 2
#define REPLACE(g, i) :: d_step { g -> pv[i] = 1 } :: d_step { g -> pv[i] = 2 }
#elif K == 3
#define REPLACE(g, i) :: d_step { g -> pv[i] = 1 } :: d_step { g -> pv[i] = 2 } \
  :: d_step { g -> pv[i] = 3 }
#else
#define REPLACE(g, i) :: d_step { g -> pv[i] = 1 } :: d_step { g -> pv[i] = 2 } \
  :: d_step { g -> pv[i] = 3 } :: d_step { g -> pv[i] = 4 }
#endif

/* a server: only existence is checked (Locked never blocks a server) */
#define SERVER(i) \
  :: d_step { !ex[i] -> ex[i] = 1 } \
  :: d_step { ex[i] -> REMOVE(i) } \
  REPLACE(ex[i], i) \
  :: d_step { ex[i] && pv[i] != 0 -> pv[i] = 0 } \
  :: d_step { ex[i] -> TAKE(ac, i) } \
  :: d_step { ex[i] -> ac[i] = 0 } \
  :: d_step { ex[i] -> TAKE(df, i) } \
  :: d_step { ex[i] -> df[i] = 0 } \
  :: d_step { ex[i] -> lk[i] = 1 } \
  :: d_step { ex[i] -> lk[i] = 0 }

/* the user: a Locked instance is not the user's to change; set_locked is never the user's */
#define USER(i) \
  :: d_step { !ex[i] -> ex[i] = 1 } \
  :: d_step { ex[i] && !lk[i] -> REMOVE(i) } \
  REPLACE(ex[i] && !lk[i], i) \
  :: d_step { ex[i] && !lk[i] && pv[i] != 0 -> pv[i] = 0 } \
  :: d_step { ex[i] && !lk[i] -> HELD(ac, i); if :: !blocked -> TAKE(ac, i) :: else fi; \
              blocked = 0 } \
  :: d_step { ex[i] && !lk[i] -> ac[i] = 0 } \
  :: d_step { ex[i] && !lk[i] -> HELD(df, i); if :: !blocked -> TAKE(df, i) :: else fi; \
              blocked = 0 } \
  :: d_step { ex[i] && !lk[i] -> df[i] = 0 }

#define BOTH(i) SERVER(i) USER(i)

active proctype device()
{
  do
  BOTH(0)
#if N > 1
  BOTH(1)
#endif
#if N > 2
  BOTH(2)
#endif
#if N > 3
  BOTH(3)
#endif
#if N > 4
  BOTH(4)
#endif
#if N > 5
  BOTH(5)
#endif
#if N > 6
  BOTH(6)
#endif
#if N > 7
  BOTH(7)
#endif
  od
}
