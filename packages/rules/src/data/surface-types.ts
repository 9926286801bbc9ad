/** One reviewed entry class of the gadget-surface classification (see scripts/gadget-surface.py). */
export interface SurfaceClass {
  /** Stable id, e.g. `numpy-ufunc`. */
  id: string;
  tier: 'safe' | 'known' | 'dangerous';
  /** Dangerous family when the class fixes one (otherwise each name carries its own). */
  family?: string;
  /** One line: why every name of this class is in its tier. */
  reason: string;
}
