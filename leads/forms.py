from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignUpForm(UserCreationForm):
    """A new agent's account. The passcode is checked (and used) by the sign-up service."""

    code = forms.CharField(
        label="Invite passcode",
        min_length=6,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    email = forms.EmailField(required=False)

    field_order = ["code", "username", "email", "password1", "password2"]

    class Meta(UserCreationForm.Meta):
        fields = ["username", "email"]

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()
