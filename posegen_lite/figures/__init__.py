"""Figures: small functions that turn poses, maps, images and networks into matplotlib / plotly figures.

* ``grids``        — tables and rows of image panels (what every other figure lays out with);
* ``poses``        — Stage I: 3D skeletons, pose maps, the stage-1 panels and figure;
* ``training``     — loss curves with samples, the masked L1's weights, a training pair, G2's refinement,
  a conditional-VAE G1's samples;
* ``body_proxy``   — the 3D body proxy's flow, correspondences, surface map, G1's paste, a photo warped by it;
* ``photos``       — real photos through a synthesizer: crop, the person's silhouette, novel views;
* ``architecture`` — G1, G2 and D drawn from the networks themselves.

They sit below ``app/`` and ``assignments/``, which both draw with them. Nothing is imported here: importing
one figure module never loads matplotlib or the networks for the others.
"""
