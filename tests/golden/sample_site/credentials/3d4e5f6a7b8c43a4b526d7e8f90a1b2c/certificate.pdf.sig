-----BEGIN PGP SIGNATURE-----

[gpg --verify certificate.pdf.sig certificate.pdf: Good signature by KEY0KEY1KEY2KEY3KEY4KEY5KEY6KEY7KEY8KEY9, made 2026-05-02 12:00:00 UTC]
-----END PGP SIGNATURE-----
