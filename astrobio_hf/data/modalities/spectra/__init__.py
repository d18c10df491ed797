"""Spectra: archive spectrum files -> wavelength / value / error / mask on a configurable grid.

Readers (native sampling, wavelengths converted to microns with astropy.units):

* JWST ``*_x1d.fits`` / ``*_x1dints.fits`` (``read_jwst_x1d``): every ``EXTRACT1D`` BinTable
  (WAVELENGTH [um], FLUX [Jy], FLUX_ERROR, DQ); x1dints files carry one EXTRACT1D per integration
  (header INT_NUM) and an ``INT_TIMES`` table whose ``int_mid_BJD_TDB`` is copied into ``meta``.
* Published transmission/emission-spectrum tables (``read_transmission_table``): CSV with or
  without '#' comment lines (columns wave, wave_error, dppm, dppm_err, order, quality, ...),
  whitespace text with one header line (the K2-18 b OSF tables: wavelength, bin half-width, transit
  depth, uncertainty), and the Pyrat Bay observation format (``@DEPTH_UNITS``, ``@DATA`` markers;
  columns depth, depth_err, wl, half_width, instrument). Depths are converted to ppm; a depth column
  whose name and file give no unit is taken as a fraction (pass ``depth_unit`` to override).
* ESO Phase-3 ADP 1-D spectra (``read_eso_adp``): a ``SPECTRUM`` BinTable with one row of array
  columns WAVE, FLUX, ERR (units from TUNITn). An all-NaN ERR ("error spectrum not available")
  becomes ``error=None``.
* 1-D spectra stored as an image plus a linear WCS (``read_wcs1d_fits``): HARPS s1d (CRVAL1/CDELT1,
  CTYPE1='Angstrom'), Keck/ESI extracted spectra (log-linear IRAF WCS: DC-FLAG=1 means the WCS
  gives log10 wavelength; the companion ``*_e.fits`` holds the 1-sigma error), Gemini/IRAF 1-D
  spectra (``SCI`` image + CRVAL1/CD1_1, optional ``VAR`` and ``DQ`` extensions), and IRAF
  ``equispec`` multi-aperture images such as the Subaru/IRD ThAr file (one row per echelle order).
  The pixel -> world step is astropy.wcs; the IRAF DC-FLAG convention is applied by hand because
  astropy's WCS does not know it. An image whose dispersion axis is uncalibrated (CTYPE1='PIXEL')
  needs ``wavelength_um`` (one row per order) or raises. Non-standard header cards (for example
  SMOKA's ``IRAF-B/P``) are read leniently and listed in ``Spectrum.nonstandard_cards``.

Native validity mask (True = usable sample): finite positive wavelength, finite value, DQ == 0
where a DQ array exists, finite error > 0 where errors exist (Keck/ESI writes sigma = 0 for no
data), ``quality == 0`` in tables that have a quality column, and for HARPS products value != 0
(the DRS pads the gap between the two CCDs with zeros; ``zero_is_gap`` overrides).

Resampling (``resample``) onto a ``WavelengthGrid`` (log-uniform or linear from min/max/n, where
min/max are the outer bin edges, or an explicit array of bin centres):

* ``"flux_conserving"`` (default): each input sample is a bin [w - hw, w + hw] (half-widths from
  the table, or half the local sample spacing); an output bin takes the overlap-weighted mean of
  the valid input bins it overlaps, which conserves the integral of value over wavelength
  (the SpectRes scheme, Carnall 2017). Errors: ``sqrt(sum(o^2 s^2)) / sum(o)`` for overlaps o,
  assuming independent inputs (when the grid is finer than the data, neighbouring outputs share
  inputs and their errors are correlated). Overlapping inputs (several instruments in one table,
  echelle orders) are averaged. An output bin is valid when its valid overlap covers at least
  ``min_coverage`` (default 0.5) of its width.
* ``"linear"``: ``numpy.interp`` of the valid samples at the bin centres, errors
  ``sqrt((1-t)^2 s_a^2 + t^2 s_b^2)``; a centre is valid only when both neighbouring native samples
  are valid (no interpolation across flagged samples, gaps or the data's ends).

Resampled spectra carry value and error as float32 with 0 where ``mask`` is False.
"""

from .core import PPM, ResampleMethod, Spectrum, SpectrumFormatError, SpectrumKind, WavelengthGrid, parse_unit
from .eso import read_eso_adp
from .jwst import read_jwst_x1d
from .reading import load_spectrum, read_spectra
from .resampling import resample
from .tables import read_transmission_table
from .wcs1d import read_wcs1d_fits

__all__ = ["PPM", "ResampleMethod", "Spectrum", "SpectrumFormatError", "SpectrumKind", "WavelengthGrid", "load_spectrum",
           "parse_unit", "read_eso_adp", "read_jwst_x1d", "read_spectra", "read_transmission_table", "read_wcs1d_fits",
           "resample"]
