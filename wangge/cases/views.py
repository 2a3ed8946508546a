from django.shortcuts import redirect


def home(request):
    return redirect("/queue/" if request.user.is_authenticated else "/login/")
