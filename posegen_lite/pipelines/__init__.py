"""What a user calls to make novel views; no widgets, no CLI (those are ``app/`` and ``cli/``).

* ``synthesizer`` — ``NovelViewSynthesizer``: one person, 3D joints + camera, 2D keypoints or a photo;
* ``stage1``      — one call's Stage I: the input pose in 3D (lifted once), its turns, pose maps, body proxy;
* ``poses``, ``photo_views`` — the synthesizer's Stage I and photo methods;
* ``checks``      — the argument checks both synthesizers share (angles, units, keypoints in the image);
* ``photo``       — the photo path behind ``synthesize_photo``: pose estimate, crop and scale;
* ``crowd``       — ``CrowdSynthesizer``: scenes with several people, built from the single-person models;
* ``compositing`` — the crowd's backgrounds and soft mattes.

Nothing is imported here, so ``import posegen_lite.pipelines.checks`` stays light.
"""
