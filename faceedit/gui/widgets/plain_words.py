"""Plain words for what the model's numbers mean: attribute names, latent dimension hints, β."""
from __future__ import annotations

# A dimension is named after an attribute only if their correlation over the training faces is at least this
# strong (|r|); weaker ones are left as bare "z12".  It is a hint (hence the "?"), not a measured edit.
NAME_MIN_R = 0.2  # the retrained models spread attributes over many dimensions: 0.2 names 9–12 of their 128

# What moving along an attribute changes, in a word or two that reads the same in either direction
# (a dimension that correlates with Young changes "age", whichever way it points).
TOPICS = {
    "5_o_Clock_Shadow": "stubble", "Arched_Eyebrows": "brow arch", "Attractive": "attractive",
    "Bags_Under_Eyes": "eye bags", "Bald": "baldness", "Bangs": "bangs", "Big_Lips": "lips", "Big_Nose": "nose size",
    "Black_Hair": "hair colour", "Blond_Hair": "hair colour", "Brown_Hair": "hair colour", "Gray_Hair": "hair colour",
    "Blurry": "blur", "Bushy_Eyebrows": "eyebrows", "Chubby": "face width", "Double_Chin": "double chin",
    "Eyeglasses": "glasses", "Goatee": "goatee", "Heavy_Makeup": "makeup", "High_Cheekbones": "cheekbones",
    "Male": "gender", "Mouth_Slightly_Open": "open mouth", "Mustache": "mustache", "Narrow_Eyes": "eye opening",
    "No_Beard": "beard", "Oval_Face": "face shape", "Pale_Skin": "skin tone", "Pointy_Nose": "nose shape",
    "Receding_Hairline": "hairline", "Rosy_Cheeks": "rosy cheeks", "Sideburns": "sideburns", "Smiling": "smile",
    "Straight_Hair": "hair texture", "Wavy_Hair": "hair texture", "Wearing_Earrings": "earrings",
    "Wearing_Hat": "hat", "Wearing_Lipstick": "lipstick", "Wearing_Necklace": "necklace",
    "Wearing_Necktie": "necktie", "Young": "age",
}


def pretty(name: str) -> str:
    """``Blond_Hair`` → ``Blond hair``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:].lower()


def topic(name: str) -> str:
    return TOPICS.get(name, pretty(name).lower())


def dimension_hint(hint) -> str | None:
    """``(name, r)`` from the model file → "hair colour", or None when there is none or |r| < NAME_MIN_R."""
    if not hint:
        return None
    name, r = hint
    return topic(name) if abs(float(r)) >= NAME_MIN_R else None


def dimension_label(dim: int, hint) -> str:
    """The latent slider's label: "z77 · hair colour?" where a correlation suggests it, "z77" otherwise."""
    words = dimension_hint(hint)
    return f"z{dim} · {words}?" if words else f"z{dim}"


def dimension_hint_tooltip(hint) -> str:
    """The tooltip line that explains a dimension's name (empty when it has none)."""
    if not dimension_hint(hint):
        return ""
    name, r = hint
    way = "more" if r > 0 else "less"
    return (f"Moving it right tends to make faces {way} “{pretty(name).lower()}”:\nover the training faces it "
            f"correlates with that attribute at r = {r:+.2f}. A hint, not a promise.")


def beta_words(beta: float | None = None) -> str:
    """What β means for someone who has never trained a VAE."""
    head = f"β = {beta:g}: " if beta is not None else "β: "
    return (head + "how hard the model was pushed to describe faces with few independent numbers.\n"
            "Low β (1) keeps faces sharp and detailed; high β (10) gives softer faces whose sliders "
            "each change one thing more cleanly.")
