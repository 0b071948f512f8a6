from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm, UsernameField

from leads.bounds import MAX_PASSWORD_LENGTH

USERNAME_MAX_LENGTH = get_user_model()._meta.get_field("username").max_length
EMAIL_MAX_LENGTH = get_user_model()._meta.get_field("email").max_length


class LoginForm(AuthenticationForm):
    """Django's login form, with its lengths checked before authentication.

    Django sets the username's max length only on the widget, so a longer name reached the
    lockout table's column (a 500); no username is longer than the user model allows.
    """

    username = UsernameField(
        max_length=USERNAME_MAX_LENGTH, widget=forms.TextInput(attrs={"autofocus": True})
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SignUpForm(UserCreationForm):
    """A new agent's account. The passcode is checked (and used) by the sign-up service."""

    code = forms.CharField(
        label="Invite passcode",
        min_length=6,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    # Forms accept 320 characters; the user's column holds fewer.
    email = forms.EmailField(required=False, max_length=EMAIL_MAX_LENGTH)

    field_order = ["code", "username", "email", "password1", "password2"]

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()
